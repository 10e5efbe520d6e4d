//! libmondoo: the native client of the Mondoo Platform.
//!
//! One Rust core for every language: load the config cnspec reads ([`Config`]), inspect
//! registration tokens ([`RegistrationToken`]), sign requests as the platform verifies
//! them ([`Signer`]) and run the login/status/logout flows ([`Client`]). The C ABI (the
//! `mondoo-capi` crate, `libmondoo.so`) is a thin layer over this API.
//!
//! [`Client`] is async (tokio; use it from any runtime, multi-thread or current-thread);
//! [`blocking::Client`] is the same client for callers without a runtime, on a small
//! runtime of its own. [`CancelToken`] cancels either's operations.
//!
//! ```no_run
//! # async fn run() -> mondoo::Result<()> {
//! let config = mondoo::Config::load(None)?;
//! let client = mondoo::Client::new(config, mondoo::ClientOptions::new())?;
//! let report = client.status().await?;
//! print!("{report}");
//! # Ok(())
//! # }
//! ```
//!
//! The surface is kept narrow on purpose: the wire (ranger-rpc), the machine facts and
//! the config file's write path are private, and the structs and enums that may grow are
//! `#[non_exhaustive]` (build options with `new()` and their `with_*` methods).
//! `public-api.txt` at the repository's root lists the whole surface; `tests/run-all`
//! fails when it changes without that file being updated.

#![warn(missing_docs)]

pub mod blocking;
mod cancel;
mod config;
mod error;
mod flows;
mod graphql;
// Internals: the ones the workspace's crates reach through `__private` are documented
// for maintainers where it helps, not as API.
#[allow(missing_docs)]
mod rpc;
mod signer;
#[allow(missing_docs)]
mod sts;
#[allow(missing_docs)]
mod sysinfo;
mod token;

pub use cancel::CancelToken;
pub use config::{redact_for_display, AuthMethod, Config, ConfigFormat, ConfigSource, LoadOptions};
pub use error::{server_text, Code, Error, ErrorClass, Result, SERVER_TEXT_LIMIT};
pub use flows::{
    ApiStatus, Client, ClientOptions, ClientStatus, ErrorReport, ExchangeReport, Health, LogoutOptions, PlatformInfo,
    ProxyReport, RegisterOptions, Registration, SignedDuration, StatusReport, UpstreamStatus,
};
pub use graphql::{GraphQlError, GraphQlLocation, GraphQlPages, GraphQlResponse};
pub use rpc::HealthCheckResponse;
pub use signer::{ApiBearer, Signer};
pub use token::{RegistrationToken, TokenClaims};

/// The library version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Internals the workspace's own crates reach (the test platform verifies bearers and
/// speaks the wire with the client's code, fuzz targets and limit tests exercise the
/// parsers). Not part of the API: no stability, no docs; may change in any release.
#[doc(hidden)]
pub mod __private {
    /// Config internals: the atomic write, the parsers and limits.
    pub mod config {
        pub use crate::config::json_text;
        pub use crate::config::structure;
        pub use crate::config::{write_atomic, MAX_CONFIG_BYTES};
    }
    /// The ranger-rpc wire: message types, decoding and limits.
    pub mod rpc {
        pub use crate::rpc::{
            decode_response, status_error, AgentRegistrationConfirmation, Empty, HealthCheckResponse, Mrn,
            MAX_RESPONSE_BYTES,
        };
    }
    /// The platform's side of signing: verifying bearers.
    pub mod signer {
        pub use crate::signer::{certificate_public_key, chash, verify, verify_with_public_key, BearerClaims};
    }
    /// The keyless (STS) pieces: claims, signing, WIF documents, the exchange.
    pub mod sts {
        pub use crate::sts::*;
    }
    /// The machine as the client reports it.
    pub mod sysinfo {
        pub use crate::sysinfo::{SystemInfo, BUILD};
    }
    /// The Platform API client's counters.
    pub mod graphql {
        /// How many Platform API bearers `client` (all its handles) signed.
        pub fn api_bearer_signatures(client: &crate::Client) -> u64 {
            client.api_bearer_signatures()
        }
    }
    /// Token limits.
    pub mod token {
        pub use crate::token::MAX_TOKEN_BYTES;
    }
}

/// The process environment's variables that are valid UTF-8 (`std::env::vars` would
/// panic on one that is not, and a library must not).
pub(crate) fn process_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

/// Current time as whole Unix seconds.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
