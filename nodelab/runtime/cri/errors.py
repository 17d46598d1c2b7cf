"""How runtime errors become gRPC status codes.

Missing or malformed input is INVALID_ARGUMENT, an unknown ID is NOT_FOUND, a held name is
ALREADY_EXISTS (with the holder's ID in the message, as containerd words it), an RPC nodelab
does not implement is UNIMPLEMENTED with a sentence saying so, and every other NodelabError is
UNKNOWN with its message (what containerd answers for failures of the underlying runtime).
Anything else is a bug: it is logged with its traceback and answered as INTERNAL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from nodelab.errors import NodelabError
from nodelab.runtime.containers import ExecTimeout
from nodelab.runtime.images.store import ImageNotFound
from nodelab.runtime.records import NameReserved
from nodelab.runtime.spec import SpecError

log = logging.getLogger("nodelab.runtime")
F = TypeVar("F", bound=Callable[..., Any])


class InvalidArgument(NodelabError):
    """The request is missing something required or carries a malformed value."""


class NotFound(NodelabError):
    """The request names a sandbox, container or image this runtime does not have."""


class Unimplemented(NodelabError):
    """An RPC nodelab's runtime does not provide."""


CODES: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (SpecError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (ImageNotFound, grpc.StatusCode.NOT_FOUND),
    (NameReserved, grpc.StatusCode.ALREADY_EXISTS),
    (ExecTimeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unimplemented, grpc.StatusCode.UNIMPLEMENTED),
    (NodelabError, grpc.StatusCode.UNKNOWN),
]


def code_for(exc: BaseException) -> grpc.StatusCode | None:
    for kind, code in CODES:
        if isinstance(exc, kind):
            return code
    return None


def rpc(method: F) -> F:
    """Turn exceptions raised by a unary RPC handler into gRPC statuses."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - every error must become a status
            code = code_for(exc)
            if code is None:
                log.exception("%s failed", method.__name__)
                context.abort(grpc.StatusCode.INTERNAL, f"{method.__name__}: {exc!r}")
            context.abort(code, str(exc))

    return wrapper  # type: ignore[return-value]
