"""ECCL's result codes as Python exceptions: EcclError and one subclass per code.

Every failing call raises the subclass of its ecclResult_t code, carrying
.code and .detail (ecclGetLastError's text, which names the peer, operation
or field). Names that would shadow Python builtins carry an Ecc prefix
(EcclConnectionError, EcclSystemError); the package also exports them
under the short names as eccl.ConnectionError and eccl.SystemError.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from eccl import _library
from eccl._ctypes_api import ecclResult_t


def error_string(code: int) -> str:
    """The library's name and meaning of a result code ("ecclPeerLost: a peer ...")."""
    text: bytes = _library.lib().ecclGetErrorString(code)
    return text.decode("utf-8", "replace")


class EcclError(RuntimeError):
    """A failing ECCL call: the ecclResult_t code and the library's detail text.

    EcclError(code, detail) builds the subclass of that code, so
    isinstance(EcclError(9, ""), eccl.Aborted) holds.
    """

    #: The ecclResult_t code of the subclass (None on the base class).
    CODE: ClassVar[Optional[int]] = None

    def __new__(cls, code: int, detail: str = "") -> "EcclError":
        target = _BY_CODE.get(int(code), cls) if cls is EcclError else cls
        return super().__new__(target)

    def __init__(self, code: int, detail: str = "") -> None:
        name = error_string(code)
        super().__init__(f"{name}: {detail}" if detail else name)
        self.code = int(code)
        self.detail = detail

    def __reduce__(self) -> tuple[type["EcclError"], tuple[int, str]]:
        return (type(self), (self.code, self.detail))


class InvalidArgument(EcclError):
    """An argument is unusable: null, wrong size, unknown enum (ecclInvalidArgument)."""

    CODE = ecclResult_t.ecclInvalidArgument


class InvalidUsage(EcclError):
    """Wrong state, or peers disagree on an operation (ecclInvalidUsage)."""

    CODE = ecclResult_t.ecclInvalidUsage


class EcclSystemError(EcclError):
    """The operating system refused: sockets, memory, threads (ecclSystemError)."""

    CODE = ecclResult_t.ecclSystemError


class InternalError(EcclError):
    """A broken invariant inside ECCL: please report it (ecclInternalError)."""

    CODE = ecclResult_t.ecclInternalError


class EcclConnectionError(EcclError):
    """A connection failed, closed or timed out (ecclConnectionError)."""

    CODE = ecclResult_t.ecclConnectionError


class ProtocolError(EcclError):
    """A peer sent bytes that are not valid ECCL protocol (ecclProtocolError)."""

    CODE = ecclResult_t.ecclProtocolError


class Timeout(EcclError):
    """A deadline passed (ecclTimeout)."""

    CODE = ecclResult_t.ecclTimeout


class PeerLost(EcclError):
    """A peer of the group is gone (ecclPeerLost)."""

    CODE = ecclResult_t.ecclPeerLost


class Aborted(EcclError):
    """The operation was cancelled locally: ecclCommAbort (ecclAborted)."""

    CODE = ecclResult_t.ecclAborted


class OutOfMemory(EcclError):
    """A memory allocation failed (ecclOutOfMemory)."""

    CODE = ecclResult_t.ecclOutOfMemory


class Unsupported(EcclError):
    """A feature or protocol version this build lacks (ecclUnsupported)."""

    CODE = ecclResult_t.ecclUnsupported


class AuthError(EcclError):
    """The other side lacks the cluster secret or a certificate of the cluster's CA, or refused
    ours (ecclAuthError)."""

    CODE = ecclResult_t.ecclAuthError


_BY_CODE: dict[int, type[EcclError]] = {
    int(cls.CODE): cls
    for cls in (InvalidArgument, InvalidUsage, EcclSystemError, InternalError,
                EcclConnectionError, ProtocolError, Timeout, PeerLost, Aborted,
                OutOfMemory, Unsupported, AuthError)
    if cls.CODE is not None
}


def error_class(code: int) -> type[EcclError]:
    """The exception class of a result code (EcclError itself for an unknown code)."""
    return _BY_CODE.get(int(code), EcclError)


def last_error() -> str:
    """ecclGetLastError of this thread: the detail of its last failing call."""
    text: bytes = _library.lib().ecclGetLastError()
    return text.decode("utf-8", "replace")


def check(code: int) -> None:
    """Raises the exception of a failing result code, with this thread's last-error text.

    Call it on the thread that made the call, right after it (the text is per thread).
    """
    if code != ecclResult_t.ecclSuccess:
        raise error_class(code)(code, last_error())
