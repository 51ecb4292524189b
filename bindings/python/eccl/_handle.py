"""The ecclComm_t handle of a Communicator and the rule that Destroy races with nothing.

Every call on the handle goes through CommHandle.call, which counts the calls
in flight; close() refuses new calls, aborts the ones in flight (their
threads get eccl.Aborted) and destroys the comm only once they have returned.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from typing import Any, Callable, Optional, TypeVar

from eccl import _library
from eccl._ctypes_api import ecclComm_t, ecclCommAttr_t, ecclEventCallback_t, ecclResult_t
from eccl._errors import InvalidUsage, check
from eccl._event_callback import c_callback, running_on

_V = TypeVar("_V", bound="ctypes._CData")

# Every open CommHandle of this process, for _forget_calls_in_child.
_open_handles: "weakref.WeakSet[CommHandle]" = weakref.WeakSet()


def _forget_calls_in_child() -> None:
    """After fork(), in the child: the calls in flight were on the parent's
    threads (none came along), and a lock one of them held stays held. Without
    this, close() there would wait for them forever; with it, close() goes
    straight to ecclCommDestroy, which in a child only forgets the handle
    (every other call on it is ecclInvalidUsage there)."""
    for handle in list(_open_handles):
        handle.forget_calls_after_fork()


os.register_at_fork(after_in_child=_forget_calls_in_child)


class CommHandle:
    """An owned ecclComm_t. Holds no reference to its Communicator (it is the finalizer)."""

    def __init__(self, handle: ecclComm_t) -> None:
        self._handle: Optional[ecclComm_t] = handle
        self._busy = 0
        self._closing = False
        self._idle = threading.Condition(threading.Lock())
        self._before_close: list[Callable[[], None]] = []
        # Every ctypes function given as event callback, kept until the comm is
        # destroyed: one may be running (or about to be) on the comm's event
        # thread while another thread replaces it, and freeing a ctypes function
        # that runs crashes. A few hundred bytes per set_event_callback call.
        self._event_callbacks: list[Any] = []
        _open_handles.add(self)

    def forget_calls_after_fork(self) -> None:
        """In a fork()ed child: no call is in flight here, and the lock is new."""
        self._idle = threading.Condition(threading.Lock())
        self._busy = 0

    @property
    def closed(self) -> bool:
        """Whether close() has begun."""
        return self._closing

    def acquire(self) -> ecclComm_t:
        """The handle, counted as in use until release(); eccl.InvalidUsage once closing."""
        with self._idle:
            if self._closing or self._handle is None:
                raise InvalidUsage(ecclResult_t.ecclInvalidUsage, "the communicator is closed")
            self._busy += 1
            return self._handle

    def release(self) -> None:
        """Ends a use begun by acquire()."""
        with self._idle:
            self._busy -= 1
            if self._busy == 0:
                self._idle.notify_all()

    def before_close(self, callback: Callable[[], None]) -> None:
        """Runs callback once at the start of close(), before the comm is destroyed:
        what lives on the comm (a DiLoCo loop) goes first. eccl.InvalidUsage once closing."""
        with self._idle:
            if self._closing or self._handle is None:
                raise InvalidUsage(ecclResult_t.ecclInvalidUsage, "the communicator is closed")
            self._before_close.append(callback)

    def call(self, function: str, *args: Any) -> None:
        """lib.function(handle, *args); raises the mapped error of a failing result."""
        lib = _library.lib()
        handle = self.acquire()
        try:
            code = getattr(lib, function)(handle, *args)
        finally:
            self.release()
        check(code)

    def set_event_callback(self, callback: Optional[Callable[[Any], None]]) -> None:
        """ecclCommSetEventCallback with callback(Event) (None: remove it)."""
        if callback is None:
            self.call("ecclCommSetEventCallback", ecclEventCallback_t(), None)  # NULL
            return
        function = c_callback(self, callback)
        self._event_callbacks.append(function)  # before the library may call it
        self.call("ecclCommSetEventCallback", function, None)

    def get_attr(self, attr: ecclCommAttr_t, value: _V) -> _V:
        """ecclCommGetAttr into value (a ctypes object of the attribute's size); returns it."""
        self.call("ecclCommGetAttr", attr, ctypes.byref(value), ctypes.sizeof(value))
        return value

    def abort(self) -> None:
        """ecclCommAbort: outstanding and later blocking calls end with eccl.Aborted."""
        with self._idle:
            if self._handle is not None:
                check(_library.lib().ecclCommAbort(self._handle))

    def close(self) -> None:
        """Aborts the calls in flight (if any), waits for them, then ecclCommDestroy.

        Idempotent. Without calls in flight this is a graceful leave: the other
        peers see eccl.EventKind.PEER_LEFT.
        """
        lib = _library.lib()
        if running_on(self):
            raise InvalidUsage(ecclResult_t.ecclInvalidUsage,
                               "close() from inside the communicator's own event callback")
        with self._idle:
            if self._closing:
                return
            callbacks, self._before_close = self._before_close, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - the communicator must close all the same
                pass
        with self._idle:
            if self._closing:
                return
            self._closing = True
            if self._busy and self._handle is not None:
                lib.ecclCommAbort(self._handle)
            while self._busy:
                self._idle.wait()
            handle, self._handle = self._handle, None
        if handle is not None:
            check(lib.ecclCommDestroy(handle))
        self._event_callbacks.clear()  # destroyed: no callback runs any more
