"""libmondoo for asyncio: :class:`Client` makes the calls of :class:`mondoo.Client` as
coroutines::

    import asyncio
    import mondoo

    async def main() -> None:
        async with mondoo.aio.Client() as client:
            print(await client.status())

    asyncio.run(main())

The calls run on the library's own tokio runtime (one thread for the process, started on
the first call), not on a thread each: many calls can be awaited at once on one client.
Cancelling the task that awaits a call (``task.cancel()``, the timeout of
``asyncio.wait_for`` or ``asyncio.timeout``, Ctrl-C under ``asyncio.run``) cancels the
request: its connection is closed, the task raises :class:`asyncio.CancelledError` (a
timeout: :class:`TimeoutError`), and a register or logout that had not written the config
file yet never writes it. Errors are the exceptions of :mod:`mondoo.errors`, as for the
blocking client.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, TypedDict, Union, final

from mondoo import _native
from mondoo._native import Config, ExchangeReport, Health, Registration, Status

if TYPE_CHECKING:
    # Only for the checker: a runtime import would need typing_extensions below Python 3.11.
    from typing_extensions import Unpack

__all__ = ["Client", "ClientOptions"]


class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`Client` and :meth:`Client.for_registration`: those of
    :class:`mondoo.Client`, with the same meaning and defaults."""

    api_endpoint: Optional[str]
    api_proxy: Optional[str]
    ca_file: Union[str, os.PathLike[str], None]
    timeout: float
    connect_timeout: float
    correct_clock_skew: bool
    retry_delays: Optional[Sequence[float]]
    retry_jitter: Optional[float]
    env: Optional[Mapping[str, str]]
    require_tls: bool
    api_token: Optional[str]


@final
class Client:
    """A connection to the Mondoo Platform for asyncio: :class:`mondoo.Client`'s calls as
    coroutines, its config, signer and connection pool.

    Made like :class:`mondoo.Client` (``config`` and the keyword options are the same);
    an async context manager: leaving the ``async with`` block closes it, and a closed
    client raises :class:`~mondoo.errors.ClientClosedError`. Calls may run concurrently
    (``asyncio.gather``) and from several event loops.
    """

    __slots__ = ("_client",)

    _client: _native.Client

    def __init__(
        self,
        config: Union[Config, str, os.PathLike[str], None] = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        """A client of ``config``: a :class:`~mondoo.Config`; the path of an existing config
        file (a missing one raises :class:`~mondoo.errors.ConfigNotFoundError`: register
        into a new file with :meth:`for_registration`); or None for cnspec's search. The
        options are :class:`mondoo.Client`'s. Loading the config is quick file I/O and
        happens here, not in a coroutine."""
        self._client = _native.Client(config, **options)

    @classmethod
    def for_registration(
        cls,
        path: Union[str, os.PathLike[str], None] = None,
        **options: Unpack[ClientOptions],
    ) -> Client:
        """A client to register with: the config at ``path``, or a new file there that
        :meth:`register` writes; None for ``$MONDOO_CONFIG_PATH`` or cnspec's search
        (as :meth:`mondoo.Client.for_registration`)."""
        client = cls.__new__(cls)
        client._client = _native.Client.for_registration(path, **options)
        return client

    @property
    def config(self) -> Config:
        """A copy of the current config (register and logout change it)."""
        return self._client.config

    @property
    def api_endpoint(self) -> str:
        """The endpoint calls go to."""
        return self._client.api_endpoint

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or the ``async with`` block ended)."""
        return self._client.closed

    async def register(
        self,
        token: Optional[str] = None,
        *,
        name: Optional[str] = None,
        annotations: Optional[Mapping[str, str]] = None,
    ) -> Registration:
        """Register this machine (``cnspec login``) and write the credentials into the
        config file, as :meth:`mondoo.Client.register`. Cancelled before the platform's
        answer arrived, it writes nothing (the platform may still have registered the
        agent: its credentials are never seen)."""
        return await self._client._register_async(token, name=name, annotations=annotations)

    async def status(self) -> Status:
        """``cnspec status``, as :meth:`mondoo.Client.status`: raises only when the config
        cannot be used."""
        return await self._client._status_async()

    async def logout(self, *, keep_service_account: bool = False, force_offline: bool = False) -> None:
        """Unregister the agent (``cnspec logout``) and remove the credentials from the
        config file, as :meth:`mondoo.Client.logout`. Cancelled before it wrote the file,
        it leaves the file as it was."""
        await self._client._logout_async(keep_service_account=keep_service_account, force_offline=force_offline)

    async def checkin(self) -> None:
        """The agent check-in (``AgentManager/HealthCheck``)."""
        await self._client._checkin_async()

    async def health(self) -> Health:
        """The platform's ``Health/Check``, timed, with the clock skew."""
        return await self._client._health_async()

    async def call(self, service: str, method: str, payload: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        """A signed call to any platform service: ``POST {api_endpoint}/{service}/{method}``
        with ``payload`` as JSON (None: ``{}``); returns the answer."""
        return await self._client._call_async(service, method, payload)

    async def graphql(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        allow_partial: bool = False,
    ) -> dict[str, Any]:
        """A Platform API (GraphQL) request, as :meth:`mondoo.Client.graphql`: the answer's
        ``data``; :class:`~mondoo.errors.GraphQLError` (with ``errors`` and partial
        ``data``) when it has ``errors``, unless ``allow_partial`` and there is data."""
        return await self._client._graphql_async(query, variables, allow_partial=allow_partial)

    def paginate(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        path: str,
        page_limit: int = 100,
    ) -> AsyncIterator[dict[str, Any]]:
        """The pages of the Relay connection at ``path`` as an async iterator, as
        :meth:`mondoo.Client.paginate`: each item is one page's connection object (with
        ``edges`` or ``nodes`` and ``pageInfo``), one request per page::

            async for page in client.paginate(QUERY, {"space": mrn}, path="assets"):
                for edge in page["edges"]:
                    print(edge["node"]["name"])

        The arguments are checked here (a bad ``path`` or ``page_limit`` raises at once);
        the requests run as the iteration goes. A cancelled ``async for`` cancels the page
        it waits for."""
        pages = self._client._paginate_async(query, variables, path=path, page_limit=page_limit)
        return _iterate(pages)

    async def exchange(self) -> ExchangeReport:
        """Keyless configs: exchange now, as :meth:`mondoo.Client.exchange`."""
        return await self._client._exchange_async()

    def sign(self, body: Union[bytes, str]) -> str:
        """A bearer for these body bytes, signed as the configured service account (no I/O:
        not a coroutine)."""
        return self._client.sign(body)

    def close(self) -> None:
        """Drop the client and its connection pool; later calls raise
        :class:`~mondoo.errors.ClientClosedError`; calls already running are not stopped
        (cancel their tasks for that). Closing twice is fine."""
        self._client.close()

    async def __aenter__(self) -> Client:
        """The client itself; leaving the block closes it."""
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Close the client; an exception raised in the block propagates."""
        self.close()

    def __repr__(self) -> str:
        return f"<mondoo.aio.{self._client!r}>"


async def _iterate(pages: _native.AsyncGraphQLPages) -> AsyncIterator[dict[str, Any]]:
    """The pages of the native async pager until it says there are no more."""
    while True:
        page = await pages.next_page()
        if page is None:
            return
        yield page
