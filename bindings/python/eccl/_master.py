"""eccl.Master: an in-process master (the cluster's membership service) on a thread."""

from __future__ import annotations

import ctypes
import threading
import weakref
from types import TracebackType
from typing import Optional

from eccl import _library
from eccl._args import optional_uint32
from eccl._cluster_stats import ClusterStats, read_cluster_stats
from eccl._ctypes_api import ecclMaster_t, ecclMasterConfig_t, ecclResult_t, init_versioned
from eccl._errors import EcclError, InvalidUsage, check, error_class, last_error

_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]", "*": "127.0.0.1"}


def _split_host(listen: str) -> str:
    """The host part of "HOST:PORT" or "[V6]:PORT" (brackets kept)."""
    if listen.startswith("["):
        return listen[: listen.index("]") + 1] if "]" in listen else listen
    return listen.rsplit(":", 1)[0] if ":" in listen else listen


class _MasterState:
    """The handle and its Run thread, shared with the finalizer (no reference to Master)."""

    def __init__(self, handle: ecclMaster_t) -> None:
        self.handle: Optional[ecclMaster_t] = handle
        self.thread: Optional[threading.Thread] = None
        self.run_error: Optional[EcclError] = None
        self.lock = threading.Lock()

    def run(self) -> None:
        """ecclMasterRun on the calling thread; keeps its error for close()."""
        lib = _library.lib()
        code = lib.ecclMasterRun(self.handle)
        if code != 0:
            self.run_error = error_class(code)(code, last_error())

    def cluster_stats(self) -> ClusterStats:
        """ecclMasterGetClusterStats. Holds the lock, so that close() cannot destroy
        the handle during the call."""
        with self.lock:
            if self.handle is None:
                raise InvalidUsage(ecclResult_t.ecclInvalidUsage, "the master is closed")
            return read_cluster_stats(_library.lib(), self.handle)

    def close(self) -> None:
        """Stop, join the Run thread, Destroy; idempotent."""
        with self.lock:
            handle, self.handle = self.handle, None
        if handle is None:
            return
        lib = _library.lib()
        lib.ecclMasterStop(handle)
        if self.thread is not None:
            self.thread.join()
        check(lib.ecclMasterDestroy(handle))


class Master:
    """A master serving a cluster from a background thread of this process.

    Creating it binds the listener and starts serving (ecclMasterCreate, then
    ecclMasterRun on a daemon thread); close() (or leaving a with block, or
    garbage collection) stops it and frees it. Options left None take the
    library's default or its environment variable (ECCL_HEARTBEAT_MS, ...).

    >>> with eccl.Master("127.0.0.1:0") as master:
    ...     comm = eccl.Communicator(master.address)
    """

    def __init__(self, listen: Optional[str] = "127.0.0.1:0", *,
                 heartbeat_ms: Optional[int] = None,
                 miss_limit: Optional[int] = None,
                 channel_setup_timeout_ms: Optional[int] = None,
                 register_timeout_ms: Optional[int] = None,
                 token_key_file: Optional[str] = None,
                 hung_ms: Optional[int] = None,
                 anomaly_window_ms: Optional[int] = None,
                 confirm_ms: Optional[int] = None,
                 frozen_ms: Optional[int] = None,
                 eviction_cooldown_ms: Optional[int] = None,
                 evict_hung: Optional[bool] = None,
                 evict_stragglers: Optional[bool] = None,
                 evict_slow_nodes: Optional[bool] = None,
                 straggler_share: Optional[float] = None,
                 straggler_factor: Optional[float] = None,
                 link_busy_share: Optional[float] = None,
                 link_busy_factor: Optional[float] = None,
                 rejoin_backoff_ms: Optional[int] = None,
                 rejoin_backoff_max_ms: Optional[int] = None,
                 secret_file: Optional[str] = None,
                 tls_ca: Optional[str] = None, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None) -> None:
        """listen: "HOST:PORT" or "[V6ADDR]:PORT" (port 0: a free one; None: the
        default, "0.0.0.0:0" or $ECCL_MASTER_LISTEN). heartbeat_ms: the peers'
        heartbeat interval; miss_limit: missed heartbeats until a peer is lost;
        channel_setup_timeout_ms, register_timeout_ms: see ecclMasterConfig_t;
        token_key_file: a 32-byte key file (None: a random key).
        The anomaly detectors (the fields of the same names in ecclMasterConfig_t,
        eccl-master's flags): hung_ms, anomaly_window_ms, confirm_ms, frozen_ms,
        eviction_cooldown_ms; evict_hung (default True), evict_stragglers,
        evict_slow_nodes (default False); straggler_share, straggler_factor,
        link_busy_share, link_busy_factor. An evicted peer's process may register
        again only rejoin_backoff_ms after the eviction, doubled per further
        eviction up to rejoin_backoff_max_ms. secret_file: the cluster secret
        every connection must prove (None: $ECCL_SECRET_FILE, "": none);
        tls_ca, tls_cert, tls_key: PEM files for TLS 1.3 on every connection,
        all three or none (None: $ECCL_TLS_CA, ... ; "": none).
        Raises eccl.InvalidArgument (a bad field) or eccl.SystemError (cannot bind)."""
        lib = _library.lib()
        code, config = init_versioned(ecclMasterConfig_t, lib.ecclMasterConfigInit)
        check(code)
        # The bytes objects stay referenced by the struct (ctypes keeps them) during Create.
        if listen is not None:
            config.listen_addr = listen.encode()
        if token_key_file is not None:
            config.token_key_file = token_key_file.encode()
        for field, path in (("secret_file", secret_file), ("tls_ca_file", tls_ca),
                            ("tls_cert_file", tls_cert), ("tls_key_file", tls_key)):
            if path is not None:
                setattr(config, field, path.encode())
        for field, value in (("heartbeat_ms", heartbeat_ms), ("miss_limit", miss_limit),
                             ("channel_setup_timeout_ms", channel_setup_timeout_ms),
                             ("register_timeout_ms", register_timeout_ms),
                             ("hung_ms", hung_ms), ("anomaly_window_ms", anomaly_window_ms),
                             ("confirm_ms", confirm_ms), ("frozen_ms", frozen_ms),
                             ("eviction_cooldown_ms", eviction_cooldown_ms),
                             ("rejoin_backoff_ms", rejoin_backoff_ms),
                             ("rejoin_backoff_max_ms", rejoin_backoff_max_ms)):
            value = optional_uint32(value, field)
            if value is not None:
                setattr(config, field, value)
        for field, flag in (("evict_hung", evict_hung), ("evict_stragglers", evict_stragglers),
                            ("evict_slow_nodes", evict_slow_nodes)):
            if flag is not None:
                setattr(config, field, 1 if flag else 0)
        for field, number in (("straggler_share", straggler_share),
                              ("straggler_factor", straggler_factor),
                              ("link_busy_share", link_busy_share),
                              ("link_busy_factor", link_busy_factor)):
            if number is not None:
                setattr(config, field, float(number))  # the library checks the range
        listen_addr = (config.listen_addr or b"").decode()

        handle = ecclMaster_t()
        check(lib.ecclMasterCreate(ctypes.byref(config), ctypes.byref(handle)))
        state = _MasterState(handle)
        self._state = state
        self._finalizer = weakref.finalize(self, state.close)
        port = ctypes.c_uint16()
        check(lib.ecclMasterGetPort(handle, ctypes.byref(port)))
        self._port = port.value
        host = _split_host(listen_addr)
        self._address = f"{_WILDCARDS.get(host, host)}:{self._port}"
        state.thread = threading.Thread(target=state.run, name=f"eccl-master-{self._port}",
                                        daemon=True)
        state.thread.start()

    @property
    def port(self) -> int:
        """The port the master listens on."""
        return self._port

    @property
    def address(self) -> str:
        """"HOST:PORT" for communicators to connect to (a wildcard host becomes loopback)."""
        return self._address

    @property
    def running(self) -> bool:
        """Whether the master still serves (not closed, its Run thread alive)."""
        thread = self._state.thread
        return self._state.handle is not None and thread is not None and thread.is_alive()

    def cluster_stats(self) -> ClusterStats:
        """What the master's anomaly detectors see, from one snapshot of the master
        (refreshed about every 200 ms while it serves): counters (the master's
        totals by name: "registrations", "heartbeats", "peer_reports",
        "hung_peers", ...), peers (each accepted peer's ops, running collective,
        lateness and flags), links (each ring link's rate and busy share over the
        window) and findings (the latest, oldest first). Any thread, while the
        master serves; never blocks on the network. Raises eccl.InvalidUsage
        once closed."""
        return self._state.cluster_stats()

    def close(self) -> None:
        """Stops serving, waits for the Run thread and frees the master. Idempotent.
        Raises the error ecclMasterRun returned, if it failed."""
        self._finalizer()
        error, self._state.run_error = self._state.run_error, None
        if error is not None:
            raise error

    def __enter__(self) -> "Master":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<eccl.Master {self._address} {'running' if self.running else 'closed'}>"
