"""Exceptions of libmondoo: one class per error class of the library.

(Also the shapes of :attr:`GraphQLError.errors`: :class:`GraphQLErrorEntry` and
:class:`GraphQLLocation`, typed dicts, not exceptions.)

Every exception is a :class:`MondooError` with the library's result ``code`` (the C
ABI's value) and ``code_name`` (its C name, e.g. ``"MONDOO_RESULT_TOKEN_EXPIRED"``).
The native module picks the class and fills in the fields; nothing here parses messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, TypedDict, Union

if TYPE_CHECKING:
    # Only for the checker: a runtime import would need typing_extensions below Python 3.11.
    from typing_extensions import Unpack

__all__ = [
    "MondooError",
    "ConfigError",
    "ConfigNotFoundError",
    "NotRegisteredError",
    "TokenError",
    "KeyMaterialError",
    "NetworkError",
    "NetworkTimeoutError",
    "CanceledError",
    "RpcError",
    "GraphQLError",
    "InternalError",
    "ClientClosedError",
]


class _CommonFields(TypedDict, total=False):
    """The keyword arguments of :class:`MondooError`, which every subclass passes on."""

    code: int
    code_name: str
    path: Optional[str]
    clock_skew_seconds: Optional[float]
    orphaned_credentials: Optional[str]


class MondooError(Exception):
    """Base of every libmondoo error."""

    code: int
    code_name: str
    path: Optional[str]
    clock_skew_seconds: Optional[float]
    orphaned_credentials: Optional[str]
    message: str

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        code_name: str = "",
        path: Optional[str] = None,
        clock_skew_seconds: Optional[float] = None,
        orphaned_credentials: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_name = code_name
        #: the file the error is about: the config for every configuration error and for
        #: NotRegisteredError (None for a config from $MONDOO_CONFIG_BASE64), or a key or CA file
        self.path = path
        #: the clock skew the client measured before this call failed (a status report or
        #: clock-skew correction), in seconds: platform time minus local time, so positive
        #: when the platform's clock is ahead of the local one, as Status.clock_skew_seconds.
        #: Set on errors of calls made as the service account; None when nothing was measured.
        self.clock_skew_seconds = clock_skew_seconds
        #: set when register() registered an agent but could not write its config afterwards
        #: (the message names the agent): its credentials as a JSON config of their own
        #: (agent_mrn, mrn, space_mrn, private_key or token, certificate, api_endpoint).
        #: Save it (mode 0600) and use it as the config, or log out with it to unregister
        #: the agent. It holds the private key: never log it (a Python str cannot be wiped).
        self.orphaned_credentials = orphaned_credentials


class ConfigError(MondooError):
    """The configuration cannot be found, read, parsed, used or written."""


class ConfigNotFoundError(ConfigError):
    """A config file given explicitly (a path, or ``$MONDOO_CONFIG_PATH``) does not exist.

    Only registration creates a config: use :meth:`mondoo.Client.for_registration` (or
    :meth:`mondoo.Config.for_registration`) for a file that is yet to be written.
    """


class NotRegisteredError(MondooError):
    """The operation needs a registered client (a service account) and there is none."""


class TokenError(MondooError):
    """A registration token cannot be used: malformed, expired, not yet valid, no space..."""

    expired: bool
    malformed: bool

    def __init__(
        self,
        message: str,
        *,
        expired: bool = False,
        malformed: bool = False,
        **common: Unpack[_CommonFields],
    ) -> None:
        super().__init__(message, **common)
        self.expired = expired
        self.malformed = malformed


class KeyMaterialError(MondooError):
    """A private key or certificate is unusable, or signing failed."""


class NetworkError(MondooError):
    """The platform could not be reached or answered something that is not a platform answer."""

    timeout: bool

    def __init__(
        self,
        message: str,
        *,
        timeout: bool = False,
        **common: Unpack[_CommonFields],
    ) -> None:
        super().__init__(message, **common)
        self.timeout = timeout


class NetworkTimeoutError(NetworkError, TimeoutError):
    """A request ran out of time (``MONDOO_RESULT_TIMEOUT``); also a builtin :class:`TimeoutError`."""


class CanceledError(NetworkError):
    """The operation was cancelled through libmondoo's cancel token
    (``MONDOO_RESULT_CANCELED``) before it finished.

    A Python caller meets cancellation as Python's own exceptions instead: the sync API
    raises the signal's exception (``KeyboardInterrupt``) after cancelling the request, and
    the asyncio API's cancelled task raises :class:`asyncio.CancelledError`. Not a
    subclass of ``asyncio.CancelledError``: that one is a ``BaseException`` which
    ``except Exception`` must not catch, and asyncio reserves it for its own tasks.
    """


class RpcError(MondooError):
    """The platform answered with an error status (gRPC code and HTTP status)."""

    rpc_code: Optional[int]
    rpc_status: Optional[str]
    http_status: Optional[int]

    def __init__(
        self,
        message: str,
        *,
        rpc_code: Optional[int] = None,
        rpc_status: Optional[str] = None,
        http_status: Optional[int] = None,
        **common: Unpack[_CommonFields],
    ) -> None:
        super().__init__(message, **common)
        self.rpc_code = rpc_code
        #: gRPC's name of rpc_code, e.g. "Unauthenticated"
        self.rpc_status = rpc_status
        self.http_status = http_status


class GraphQLLocation(TypedDict):
    """A position in the query text (1-based)."""

    line: int
    column: int


class GraphQLErrorEntry(TypedDict):
    """One entry of a GraphQL answer's ``errors``, as the platform sent it."""

    #: what went wrong, in the server's words (not escaped: print it with care)
    message: str
    #: where in ``data``: field names and list indices (empty when not about a field)
    path: list[Union[str, int]]
    #: where in the query (empty when the server named none)
    locations: list[GraphQLLocation]
    #: the server's extra fields (Mondoo's ``code``, ...), or None
    extensions: Optional[dict[str, Any]]


class GraphQLError(RpcError):
    """The Platform API answered with ``errors`` (``MONDOO_RESULT_GRAPHQL_ERRORS``).

    Raised by :meth:`mondoo.Client.graphql` (unless ``allow_partial`` and the answer has
    data) and by :meth:`mondoo.Client.paginate` for a page with errors, with the answer's
    ``errors`` and its partial ``data``; the message is the first error's, escaped. An
    answer that is not a GraphQL answer at all (HTTP 401, 500...) raises the other exceptions
    (:class:`RpcError` with ``rpc_status == "Unauthenticated"`` for a refused credential).
    A subclass of :class:`RpcError`: the library's GraphQL codes are in the RPC area.
    """

    errors: list[GraphQLErrorEntry]
    data: Optional[dict[str, Any]]

    def __init__(
        self,
        message: str,
        *,
        errors: Optional[list[GraphQLErrorEntry]] = None,
        data: Optional[dict[str, Any]] = None,
        rpc_code: Optional[int] = None,
        rpc_status: Optional[str] = None,
        http_status: Optional[int] = None,
        **common: Unpack[_CommonFields],
    ) -> None:
        super().__init__(message, rpc_code=rpc_code, rpc_status=rpc_status, http_status=http_status, **common)
        #: the answer's errors (message, path, locations, extensions)
        self.errors = errors if errors is not None else []
        #: the answer's data beside the errors (partial: the failed fields are None), or None
        self.data = data


class InternalError(MondooError):
    """A bad argument or a bug in libmondoo."""


class ClientClosedError(MondooError):
    """A method of a :class:`mondoo.Client` was called after ``close()`` (or its ``with`` block).

    Its ``code`` is ``MONDOO_RESULT_INVALID_ARGUMENT``'s: the closed client is the bad argument.
    """
