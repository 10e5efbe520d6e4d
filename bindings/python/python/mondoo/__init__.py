"""libmondoo for Python: the Mondoo Platform client behind ``cnspec login/status/logout``.

Everything runs in the Rust library (``mondoo._native``); this package re-exports it and
defines the exceptions. Start with :class:`Client`::

    import mondoo

    with mondoo.Client() as client:
        print(client.status())
"""

from mondoo._native import (
    VERSION,
    Client,
    Config,
    Registration,
    Signer,
    Status,
    Token,
    inspect_token,
)
from mondoo.errors import (
    ClientClosedError,
    ConfigError,
    ConfigNotFoundError,
    InternalError,
    KeyMaterialError,
    MondooError,
    NetworkError,
    NetworkTimeoutError,
    NotRegisteredError,
    RpcError,
    TokenError,
)

__version__ = VERSION

__all__ = [
    "VERSION",
    "Client",
    "ClientClosedError",
    "Config",
    "ConfigError",
    "ConfigNotFoundError",
    "InternalError",
    "KeyMaterialError",
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
    "inspect_token",
]
