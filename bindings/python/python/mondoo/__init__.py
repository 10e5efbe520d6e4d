"""libmondoo for Python: the Mondoo Platform client behind ``cnspec login/status/logout``.

Everything runs in the Rust library (``mondoo._native``); this package re-exports it and
defines the exceptions. Start with :class:`Client`::

    import mondoo

    with mondoo.Client() as client:
        print(client.status())
        print(client.graphql("{ viewer { mrn name } }"))

The same calls for asyncio are in :mod:`mondoo.aio`::

    async with mondoo.aio.Client() as client:
        print(await client.status())
"""

from mondoo._native import (
    VERSION,
    Client,
    Config,
    ExchangeReport,
    GraphQLPages,
    Health,
    Registration,
    Signer,
    Status,
    Token,
    inspect_token,
)
from mondoo.errors import (
    CanceledError,
    ClientClosedError,
    ConfigError,
    ConfigNotFoundError,
    GraphQLError,
    InternalError,
    KeyMaterialError,
    MondooError,
    NetworkError,
    NetworkTimeoutError,
    NotRegisteredError,
    RpcError,
    TokenError,
)
from mondoo import aio

__version__ = VERSION

__all__ = [
    "VERSION",
    "CanceledError",
    "Client",
    "ClientClosedError",
    "Config",
    "ConfigError",
    "ConfigNotFoundError",
    "ExchangeReport",
    "GraphQLError",
    "GraphQLPages",
    "InternalError",
    "KeyMaterialError",
    "Health",
    "MondooError",
    "NetworkError",
    "NetworkTimeoutError",
    "NotRegisteredError",
    "Registration",
    "RpcError",
    "Signer",
    "Status",
    "Token",
    "TokenError",
    "aio",
    "inspect_token",
]
