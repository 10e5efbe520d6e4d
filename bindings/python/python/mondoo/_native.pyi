"""The native module of libmondoo; use the ``mondoo`` package."""

import os
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Optional, Union, final

from mondoo.errors import MondooError

__all__ = [
    "VERSION",
    "Config",
    "Token",
    "Signer",
    "Client",
    "Registration",
    "Status",
    "Health",
    "GraphQLPages",
    "AsyncGraphQLPages",
    "ExchangeReport",
    "inspect_token",
    "all_codes",
    "_error_for_code",
    "_bench_sign_rust",
]

VERSION: str
"""libmondoo's version, e.g. ``"0.1.0"``."""

_Body = Union[bytes, str]
_Path = Union[str, "os.PathLike[str]"]

@final
class Config:
    """A loaded mondoo configuration (a service account or an agent config).

    Made by :meth:`load` or :meth:`for_registration`; never shows the private key.
    """

    @staticmethod
    def load(path: Optional[_Path] = None) -> Config:
        """Load a config with cnspec's precedence.

        ``path`` (which must exist, else :class:`~mondoo.errors.ConfigNotFoundError`), else
        ``$MONDOO_CONFIG_BASE64``, ``$MONDOO_CONFIG_PATH``, the home and the system file;
        when none is found the config is empty and unregistered.
        """
    @staticmethod
    def for_registration(path: Optional[_Path] = None) -> Config:
        """The config a registration writes: like :meth:`load`, but a missing ``path`` (or
        ``$MONDOO_CONFIG_PATH``) is a new file that :meth:`Client.register` creates."""
    @property
    def source(self) -> str:
        """Where it came from: ``"--config"``, ``"$MONDOO_CONFIG_PATH"``,
        ``"$MONDOO_CONFIG_BASE64"``, ``"default"`` or ``"none"``."""
    @property
    def path(self) -> Optional[str]:
        """The file read, or the file a registration will write; None for a base64 config."""
    @property
    def format(self) -> Literal["yaml", "json"]:
        """The file's format."""
    @property
    def registered(self) -> bool:
        """A service account (``mrn`` and ``private_key``) is configured."""
    @property
    def space_mrn(self) -> Optional[str]:
        """``scope_mrn``, else ``space_mrn``, else ``parent_mrn``."""
    @property
    def api_endpoint(self) -> str:
        """The API endpoint, normalized; ``https://us.api.mondoo.com`` when none is named."""
    @property
    def agent_mrn(self) -> Optional[str]:
        """The agent's MRN, once the machine is registered as an agent."""
    @property
    def service_account_mrn(self) -> Optional[str]:
        """The service account's MRN."""
    def to_dict(self) -> dict[str, Any]:
        """The document as in the file, with ``private_key`` replaced by ``"<redacted>"``."""

@final
class Token:
    """A registration token checked offline (shape, claims, time); never shows the token.

    Made by :func:`inspect_token`.
    """

    @property
    def alg(self) -> str:
        """The header's signing algorithm, e.g. ``"ES384"``."""
    @property
    def space_mrn(self) -> Optional[str]:
        """The space the token registers into."""
    @property
    def api_endpoint(self) -> str:
        """Where the registration goes: the override given, else the token's claim."""
    @property
    def expires(self) -> Optional[int]:
        """Unix seconds when the token expires, or None for a token without expiry."""
    @property
    def not_before(self) -> Optional[int]:
        """Unix seconds before which the token is not valid (``nbf``), or None."""
    @property
    def issued_at(self) -> Optional[int]:
        """Unix seconds when the token was issued (``iat``), or None."""
    @property
    def issuer(self) -> Optional[str]:
        """Who issued the token (``iss``), or None."""
    @property
    def subject(self) -> Optional[str]:
        """The token's subject (``sub``), or None."""
    @property
    def description(self) -> Optional[str]:
        """The description given when the token was made (``desc``), or None."""
    @property
    def owner(self) -> Optional[str]:
        """Who made the token (``owner``), or None."""
    @property
    def labels(self) -> dict[str, str]:
        """The labels the token gives the assets it registers."""
    @property
    def warnings(self) -> list[str]:
        """E.g. ``"registration token has no expiry"``."""
    def to_dict(self) -> dict[str, Any]:
        """Every claim (None when absent) plus ``alg``, ``endpoint``, ``expires_at`` and
        ``warnings``."""

def inspect_token(token: str, *, api_endpoint: Optional[str] = None) -> Token:
    """Check a registration token offline (no request is made).

    ``api_endpoint`` stands in for a token that names none. Raises
    :class:`~mondoo.errors.TokenError` saying why the token cannot be used; no message
    contains the token.
    """

@final
class Signer:
    """Signs request bodies as the configured service account (ES384 bearers)."""

    @staticmethod
    def from_config(config: Config) -> Signer:
        """The signer of a registered config; raises
        :class:`~mondoo.errors.NotRegisteredError` or
        :class:`~mondoo.errors.KeyMaterialError`."""
    @property
    def mrn(self) -> str:
        """The service account's MRN (the bearer's ``kid`` and ``sub``)."""
    def sign(self, body: _Body) -> str:
        """A fresh bearer for exactly these body bytes (a ``str`` is signed as UTF-8), to
        send as ``Authorization: Bearer <bearer>``."""

@final
class Registration:
    """The outcome of :meth:`Client.register`."""

    @property
    def agent_mrn(self) -> str:
        """The agent's MRN, now in the config."""
    @property
    def service_account_mrn(self) -> str:
        """The service account's MRN, now in the config."""
    @property
    def space_mrn(self) -> Optional[str]:
        """The space the agent was registered into, or None when the platform named none."""
    @property
    def api_endpoint(self) -> str:
        """The API endpoint the agent is registered at."""
    @property
    def config_path(self) -> Optional[str]:
        """The config file the credentials were written to; None when there is no file."""
    @property
    def already_registered(self) -> bool:
        """True when the config already had an agent (nothing was registered)."""
    def to_dict(self) -> dict[str, Any]:
        """``agent_mrn``, ``service_account_mrn``, ``space_mrn``, ``api_endpoint``,
        ``config_path``, ``already_registered``."""

@final
class Status:
    """``cnspec status`` as data: ``str()`` gives the text cnspec prints, :meth:`to_dict`
    Go's JSON shape. Made by :meth:`Client.status`."""

    @property
    def registered(self) -> bool:
        """The config holds a service account."""
    @property
    def authenticated(self) -> bool:
        """The platform accepted the credentials (the signed PingPong succeeded)."""
    @property
    def exit_code(self) -> int:
        """0 when registered and authenticated, else 1 (as cnspec exits)."""
    @property
    def config_source(self) -> str:
        """Where the config came from, as :attr:`Config.source` says it."""
    @property
    def config_path(self) -> Optional[str]:
        """The config file read (or that a registration would write), or None."""
    @property
    def api_endpoint(self) -> str:
        """The API endpoint the report is about."""
    @property
    def api_status(self) -> Optional[str]:
        """Health/Check's status (e.g. ``"SERVING"``), None when the API was not reached."""
    @property
    def api_version(self) -> Optional[str]:
        """The API's version, None when the API was not reached."""
    @property
    def agent_mrn(self) -> Optional[str]:
        """The agent's MRN (``"no managed client"`` for a service account without agent)."""
    @property
    def service_account_mrn(self) -> Optional[str]:
        """The service account's MRN, None when not registered."""
    @property
    def space_mrn(self) -> Optional[str]:
        """The config's scope (``scope_mrn``, ``space_mrn`` or ``parent_mrn``), or None."""
    @property
    def hostname(self) -> str:
        """This machine's host name."""
    @property
    def version(self) -> str:
        """libmondoo's version."""
    @property
    def warnings(self) -> list[str]:
        """The ``!`` lines of the text: clock skew, long round trips."""
    @property
    def clock_skew_seconds(self) -> Optional[float]:
        """The API's time minus the local time, in seconds; None when not measured."""
    @property
    def round_trip_ms(self) -> Optional[float]:
        """Health/Check's round trip in milliseconds, None when the API was not reached."""
    @property
    def proxy_url(self) -> Optional[str]:
        """The proxy requests go through (credentials redacted), or None."""
    @property
    def api_error(self) -> Optional[dict[str, Any]]:
        """Why Health/Check failed (``code``, ``rpc_code``, ``http_status``, ``message``,
        ``error``), or None."""
    @property
    def ping_pong_error(self) -> Optional[dict[str, Any]]:
        """Why the signed PingPong failed (the keys of :attr:`api_error`), or None."""
    def to_dict(self) -> dict[str, Any]:
        """The report in Go's JSON shape (``client``, ``upstream``) plus ``config_source``,
        ``config_path``, ``proxy`` and the measurements."""

@final
class Health:
    """The platform's ``Health/Check`` as the client measured it. Made by
    :meth:`Client.health`."""

    @property
    def status(self) -> str:
        """The serving status, e.g. ``"SERVING"``; ``"UNKNOWN"`` when the platform named none."""
    @property
    def api_version(self) -> Optional[str]:
        """The API's version, or None."""
    @property
    def build(self) -> Optional[str]:
        """The API's build, or None."""
    @property
    def time(self) -> Optional[str]:
        """The platform's time as it sent it (RFC 3339), or None."""
    @property
    def round_trip_ms(self) -> float:
        """The call's round trip in milliseconds."""
    @property
    def clock_skew_seconds(self) -> Optional[float]:
        """The platform's time minus the local time, in seconds (as
        :attr:`Status.clock_skew_seconds`); None when the platform's time did not parse."""
    def to_dict(self) -> dict[str, Any]:
        """``status``, ``api_version``, ``build``, ``time``, ``round_trip_ms``,
        ``clock_skew_seconds``."""

@final
class Client:
    """A connection to the Mondoo Platform: the config, the signer and one connection pool.

    Thread-safe (share one across threads; the GIL is released during network calls and
    signing) and a context manager: leaving the ``with`` block closes it, and a closed
    client raises :class:`~mondoo.errors.ClientClosedError`.

    The calls that talk to the platform can be interrupted: Ctrl-C raises
    ``KeyboardInterrupt`` within about 50 ms, after cancelling the request (its connection
    closed; a register or logout that had not written the config yet writes nothing).
    For asyncio use :class:`mondoo.aio.Client`.
    """

    def __new__(
        cls,
        config: Union[Config, _Path, None] = None,
        *,
        api_endpoint: Optional[str] = None,
        api_proxy: Optional[str] = None,
        ca_file: Optional[_Path] = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        correct_clock_skew: bool = False,
        retry_delays: Optional[Sequence[float]] = None,
        retry_jitter: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        require_tls: bool = False,
        api_token: Optional[str] = None,
    ) -> Client:
        """A client of ``config``: a :class:`Config`; the path of an existing config file
        (a missing one raises :class:`~mondoo.errors.ConfigNotFoundError`: register into a
        new file with :meth:`for_registration`); or None for cnspec's search.

        ``api_endpoint`` replaces the config's, ``api_proxy`` sends requests through a
        proxy, ``ca_file`` trusts more CA certificates (PEM); ``timeout`` bounds each
        request and ``connect_timeout`` the connect, in seconds; ``correct_clock_skew``
        corrects signing times by the skew status measures; ``retry_delays`` and
        ``retry_jitter`` (seconds) are registration's retry schedule; ``env`` replaces the
        process environment (read once, here) for the proxy, ``MONDOO_API_TOKEN``,
        ``MONDOO_API_ENDPOINT`` and the keyless settings (``SSH_AUTH_SOCK``,
        ``JWT_TOKEN``, ...); ``require_tls`` refuses an ``http://`` endpoint that is not
        loopback before any request (:class:`~mondoo.errors.NetworkError` with
        ``MONDOO_RESULT_INSECURE_ENDPOINT``); ``api_token`` is an API token for
        :meth:`graphql` (never shown; ``$MONDOO_API_TOKEN`` comes first, see there).
        """
    @staticmethod
    def for_registration(
        path: Optional[_Path] = None,
        *,
        api_endpoint: Optional[str] = None,
        api_proxy: Optional[str] = None,
        ca_file: Optional[_Path] = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        correct_clock_skew: bool = False,
        retry_delays: Optional[Sequence[float]] = None,
        retry_jitter: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        require_tls: bool = False,
        api_token: Optional[str] = None,
    ) -> Client:
        """A client to register with (``cnspec login --config path``): the config at
        ``path``, or a new file there that :meth:`register` writes (creating missing
        directories); None for ``$MONDOO_CONFIG_PATH`` or cnspec's search. The options
        are :class:`Client`'s."""
    @property
    def config(self) -> Config:
        """A copy of the current config (register and logout change it)."""
    @property
    def api_endpoint(self) -> str:
        """The endpoint calls go to."""
    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or the ``with`` block ended)."""
    def register(
        self,
        token: Optional[str] = None,
        *,
        name: Optional[str] = None,
        annotations: Optional[Mapping[str, str]] = None,
    ) -> Registration:
        """Register this machine (``cnspec login``) and write the credentials into the
        config file, keeping every other key.

        ``token``: a registration token, or None to register with the configured service
        account. ``name``: the asset name (default: the host name).
        """
    def status(self) -> Status:
        """``cnspec status``: the platform's health and whether it accepts the credentials.

        Raises only when the config cannot be used; a platform that is down or refuses
        is reported in the :class:`Status`.
        """
    def logout(self, *, keep_service_account: bool = False, force_offline: bool = False) -> None:
        """Unregister the agent (``cnspec logout``) and remove the credentials from the
        config file. ``keep_service_account`` removes only ``agent_mrn``;
        ``force_offline`` rewrites the file even when the platform cannot be reached."""
    def checkin(self) -> None:
        """The agent check-in (``AgentManager/HealthCheck``), as a running agent sends it."""
    def health(self) -> Health:
        """The platform's ``Health/Check`` (no credentials needed), timed, with the clock skew."""
    def call(self, service: str, method: str, payload: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        """A signed call to any platform service: ``POST {api_endpoint}/{service}/{method}``
        with ``payload`` as JSON (None: ``{}``); returns the answer."""
    def graphql(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        allow_partial: bool = False,
    ) -> dict[str, Any]:
        """A Platform API request (GraphQL at ``{api_endpoint}/query``): the answer's ``data``.

        ``variables`` is sent as JSON. An answer with ``errors`` raises
        :class:`~mondoo.errors.GraphQLError` carrying them (``.errors``) and the partial
        ``.data``; with ``allow_partial`` the data is returned instead when there is some.
        A refused credential raises :class:`~mondoo.errors.RpcError`
        (``rpc_status == "Unauthenticated"``). The endpoint: the ``api_endpoint`` option,
        else ``$MONDOO_API_ENDPOINT``, else the config's (``/query`` appended). The
        credential, first match wins: a config from ``$MONDOO_CONFIG_BASE64`` or
        ``$MONDOO_CONFIG_PATH``, ``$MONDOO_API_TOKEN``, the ``api_token`` option, then the
        config's service account (its bearer reused across calls until 10 s before it
        expires). Interruptible like the other calls.
        """
    def paginate(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        path: str,
        page_limit: int = 100,
    ) -> GraphQLPages:
        """The pages of the Relay connection at ``path`` (dotted, e.g. ``"space.assets"``)
        in the answers to ``query``: an iterator of each page's connection object, one
        request per page::

            for page in client.paginate(QUERY, {"space": mrn}, path="assets"):
                for edge in page["edges"]:
                    print(edge["node"]["name"])

        ``query`` takes ``$after: String`` (the pager sets it) and selects ``pageInfo {
        endCursor hasNextPage }`` of the connection; the iteration ends after the page whose
        ``hasNextPage`` is false. Pages, not nodes: a page also has ``totalCount`` and the
        cursors, and the query decides between ``edges`` and ``nodes``. More than
        ``page_limit`` pages raises :class:`~mondoo.errors.InternalError`
        (``MONDOO_RESULT_INVALID_ARGUMENT``) after the last allowed page, never a silent
        truncation; a page with ``errors`` raises :class:`~mondoo.errors.GraphQLError`.
        An error or a Ctrl-C ends the iteration.
        """
    def exchange(self) -> ExchangeReport:
        """Keyless configs (``auth: {method: ssh}`` or a ``type: external_account``
        document): exchange at the platform's SecureTokenService now, also when the
        short-lived service account in memory is still fresh, and say what came back (never
        the key). Later calls use the new account; it is never written to the config. A
        config with a key or token of its own raises :class:`~mondoo.errors.NotRegisteredError`.
        Calls exchange on their own when needed: this is for reporting and for renewing early.
        """
    def sign(self, body: _Body) -> str:
        """A bearer for these body bytes, signed as the configured service account."""
    # The asyncio API's calls (mondoo.aio.Client awaits them): futures of the running loop.
    def _register_async(
        self,
        token: Optional[str] = None,
        *,
        name: Optional[str] = None,
        annotations: Optional[Mapping[str, str]] = None,
    ) -> Awaitable[Registration]: ...
    def _status_async(self) -> Awaitable[Status]: ...
    def _logout_async(self, *, keep_service_account: bool = False, force_offline: bool = False) -> Awaitable[None]: ...
    def _checkin_async(self) -> Awaitable[None]: ...
    def _health_async(self) -> Awaitable[Health]: ...
    def _call_async(
        self, service: str, method: str, payload: Optional[Mapping[str, Any]] = None
    ) -> Awaitable[dict[str, Any]]: ...
    def _graphql_async(
        self, query: str, variables: Optional[Mapping[str, Any]] = None, *, allow_partial: bool = False
    ) -> Awaitable[dict[str, Any]]: ...
    def _paginate_async(
        self, query: str, variables: Optional[Mapping[str, Any]] = None, *, path: str, page_limit: int = 100
    ) -> AsyncGraphQLPages: ...
    def _exchange_async(self) -> Awaitable[ExchangeReport]: ...
    def close(self) -> None:
        """Drop the client and its connection pool; later calls raise
        :class:`~mondoo.errors.ClientClosedError`. Closing twice is fine."""
    def __enter__(self) -> Client:
        """The client itself; leaving the block closes it."""
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Close the client; an exception raised in the block propagates."""

@final
class GraphQLPages(Iterator[dict[str, Any]]):
    """The pages of a Relay connection, made by :meth:`Client.paginate`: each item is one
    page's connection object. Iterate it once; an error or Ctrl-C ends it."""

    def __iter__(self) -> GraphQLPages:
        """The iterator itself."""
    def __next__(self) -> dict[str, Any]:
        """The next page (one request), or ``StopIteration`` after the last one."""

@final
class AsyncGraphQLPages:
    """The asyncio pager behind :meth:`mondoo.aio.Client.paginate` (iterate that instead)."""

    def next_page(self) -> Awaitable[Optional[dict[str, Any]]]:
        """The next page's connection object, or None after the last page."""

@final
class ExchangeReport:
    """What :meth:`Client.exchange` got: the short-lived service account, never its key."""

    @property
    def method(self) -> Literal["ssh", "workload_identity"]:
        """How it was exchanged: an ssh-agent's keys or a workload identity token."""
    @property
    def service_account_mrn(self) -> str:
        """The short-lived service account's MRN."""
    @property
    def scope_mrn(self) -> Optional[str]:
        """Its space or organization, or None."""
    @property
    def expires_at(self) -> Optional[str]:
        """When its certificate ends (RFC 3339, UTC), or None for a credential without one."""
    @property
    def api_endpoint(self) -> Optional[str]:
        """Where the account's calls go: the ``api_endpoint`` the exchange answered, or None
        when it answered none (the config's is used)."""
    def to_dict(self) -> dict[str, Any]:
        """``method``, ``service_account_mrn``, ``scope_mrn``, ``expires_at``, ``api_endpoint``."""

def all_codes() -> list[tuple[int, str]]:
    """Every result code as ``(value, C name)``, in value order."""

def _error_for_code(code: int, message: str = "test error") -> MondooError:
    """The exception the library raises for an error with this code (not raised)."""

def _bench_sign_rust(signer: Signer, n: int, body: _Body) -> float:
    """Seconds the Rust signer takes for ``n`` bearers of ``body``, with no Python in between."""
