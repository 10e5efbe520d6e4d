from mondoo._native import (
    VERSION as VERSION,
    Client as Client,
    Config as Config,
    Registration as Registration,
    Signer as Signer,
    Status as Status,
    Token as Token,
    inspect_token as inspect_token,
)
from mondoo.errors import (
    ConfigError as ConfigError,
    InternalError as InternalError,
    KeyMaterialError as KeyMaterialError,
    MondooError as MondooError,
    NetworkError as NetworkError,
    NotRegisteredError as NotRegisteredError,
    RpcError as RpcError,
    TokenError as TokenError,
)

__version__: str
__all__ = [
    "VERSION",
    "Client",
    "Config",
    "ConfigError",
    "InternalError",
    "KeyMaterialError",
    "MondooError",
    "NetworkError",
    "NotRegisteredError",
    "Registration",
    "RpcError",
    "Signer",
    "Status",
    "Token",
    "TokenError",
    "inspect_token",
]
