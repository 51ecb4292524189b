"""Request: the handle of an asynchronous collective (ecclRequest_t).

A Request keeps the op's arrays alive until the op has completed and frees
the C request then. One dropped while still running is parked in a list of
orphans (arrays included) and freed by a later request once it is done, so
that ECCL never writes into freed memory.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import time
from typing import Any, Optional

from eccl import _library
from eccl._ctypes_api import ecclOpInfo_t, ecclRequest_t, ecclResult_t, versioned
from eccl._errors import Timeout, error_class, last_error
from eccl._types import OpInfo

# (request handle, arrays it uses) of Requests dropped before completion.
_orphans: "collections.deque[tuple[ecclRequest_t, Any]]" = collections.deque()


def reap_orphans() -> None:
    """Frees the orphaned requests that have completed since they were dropped."""
    lib = _library.lib()
    for _ in range(len(_orphans)):
        try:
            handle, keepalive = _orphans.popleft()
        except IndexError:
            return
        done = ctypes.c_int(0)
        lib.ecclTest(handle, ctypes.byref(done), None)
        if done.value:
            lib.ecclRequestFree(handle)
        else:
            _orphans.append((handle, keepalive))


class Request:
    """An asynchronous operation in progress or completed.

    wait() blocks until it completes and returns its result (the output
    array) or raises its error; done() tells without blocking. Safe to use
    from several threads.
    """

    def __init__(self, handle: ecclRequest_t, result: Any, keepalive: Any) -> None:
        """handle: a new ecclRequest_t (owned from now on); result: what wait()
        returns; keepalive: everything the op reads or writes."""
        self._handle: Optional[ecclRequest_t] = handle
        self._result = result
        self._keepalive = keepalive
        self._lock = threading.Lock()
        self._waiters = 0
        self._outcome: Optional[tuple[int, str]] = None
        self._info: Optional[OpInfo] = None

    def _settle(self, code: int, detail: str, info: ecclOpInfo_t) -> None:
        # With self._lock held: records the outcome once, frees the C request
        # when no thread is inside ecclWait on it any more.
        if self._outcome is None:
            self._outcome = (code, detail)
            self._info = OpInfo.from_c(info)
        if self._waiters == 0 and self._handle is not None:
            _library.lib().ecclRequestFree(self._handle)
            self._handle = None
            self._keepalive = None

    def done(self) -> bool:
        """Whether the op has completed (successfully or not). Never blocks."""
        with self._lock:
            if self._outcome is not None:
                return True
            done = ctypes.c_int(0)
            info = versioned(ecclOpInfo_t)
            code = _library.lib().ecclTest(self._handle, ctypes.byref(done), ctypes.byref(info))
            if done.value:
                self._settle(code, last_error() if code else "", info)
            return bool(done.value)

    def wait(self, timeout_ms: Optional[float] = None) -> Any:
        """Blocks until the op completes; returns its output array or raises its error.

        timeout_ms: None waits as long as the op runs (it ends at its own
        timeout at the latest); else at most that long, then eccl.Timeout (the op
        keeps running: wait again, or abort the communicator).
        """
        if timeout_ms is None or timeout_ms < 0:
            self._wait_blocking()
        else:
            deadline = time.monotonic() + timeout_ms / 1000.0
            pause = 0.0002
            while not self.done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(ecclResult_t.ecclTimeout,
                                  f"the request did not complete within {timeout_ms} ms "
                                  "(it is still running)")
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.01)
        assert self._outcome is not None
        code, detail = self._outcome
        if code != ecclResult_t.ecclSuccess:
            raise error_class(code)(code, detail)
        return self._result

    def _wait_blocking(self) -> None:
        with self._lock:
            if self._outcome is not None:
                return
            self._waiters += 1
            handle = self._handle
        info = versioned(ecclOpInfo_t)
        code = _library.lib().ecclWait(handle, ctypes.byref(info))
        detail = last_error() if code else ""
        with self._lock:
            self._waiters -= 1
            self._settle(code, detail, info)

    @property
    def info(self) -> Optional[OpInfo]:
        """What the op did (bytes, time), once it has completed; else None."""
        return self._info

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is None:
            return
        try:
            lib = _library.lib()
            done = ctypes.c_int(0)
            lib.ecclTest(handle, ctypes.byref(done), None)
            if done.value:
                lib.ecclRequestFree(handle)
            else:
                _orphans.append((handle, (self._keepalive, self._result)))
        except Exception:  # interpreter shutdown: the process frees everything
            pass

    def __repr__(self) -> str:
        if self._outcome is None:
            state = "running"
        else:
            state = "ok" if self._outcome[0] == 0 else error_class(self._outcome[0]).__name__
        return f"<eccl.Request {state}>"
