"""The ctypes function a Communicator's event callback is called through
(ecclCommSetEventCallback): it converts the C event, runs the Python callback
on the comm's event thread, and keeps that callback's exceptions out of C."""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, Callable, Optional

from eccl._ctypes_api import ecclEventCallback_t
from eccl._types import Event

# The handle whose callback this thread is running, if any (close() refuses then).
_running = threading.local()


def running_on(owner: object) -> bool:
    """Whether the calling thread is inside owner's event callback."""
    return getattr(_running, "owner", None) is owner


def c_callback(owner: object, callback: Callable[[Event], None]) -> Any:
    """An ecclEventCallback_t that calls callback(Event). The caller must keep the
    returned object alive while the library may call it."""

    def deliver(event_ptr: Any, _user_data: Optional[int]) -> None:
        previous = getattr(_running, "owner", None)
        _running.owner = owner
        try:
            callback(Event.from_c(event_ptr.contents))
        except BaseException:  # noqa: BLE001 - nothing may unwind into C
            print(f"eccl: the event callback {callback!r} raised:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
        finally:
            _running.owner = previous

    return ecclEventCallback_t(deliver)
