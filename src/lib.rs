//! libmondoo: the native client of the Mondoo Platform.
//!
//! One Rust core for every language: load the config cnspec reads ([`config`]), inspect
//! registration tokens ([`token`]), sign requests as the platform verifies them
//! ([`signer`]), talk ranger-rpc ([`rpc`]) and run the login/status/logout flows
//! ([`flows`]). The C ABI (the `mondoo-capi` crate, `libmondoo.so`) is a thin layer over
//! this API.
//!
//! Rust callers inside a tokio runtime: the HTTP client is reqwest's blocking client,
//! which runs its own runtime thread; create and drop a [`flows::Client`] outside async
//! contexts (or in `spawn_blocking`), as dropping it inside a runtime panics.

pub mod config;
pub mod error;
pub mod flows;
pub mod rpc;
pub mod signer;
pub mod sts;
pub mod sysinfo;
pub mod token;

pub use config::{Config, ConfigFormat, ConfigSource, LoadOptions};
pub use error::{Code, Error, ErrorClass, Result};
pub use signer::Signer;
pub use token::RegistrationToken;

/// The library version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The process environment's variables that are valid UTF-8 (`std::env::vars` would
/// panic on one that is not, and a library must not).
pub(crate) fn process_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

/// Current time as whole Unix seconds.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
