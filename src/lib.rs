//! libmondoo: the native client of the Mondoo Platform.
//!
//! One Rust core for every language: load the config cnspec reads ([`config`]), inspect
//! registration tokens ([`token`]), sign requests as the platform verifies them
//! ([`signer`]), talk ranger-rpc ([`rpc`]) and run the login/status/logout flows
//! ([`flows`]). The C ABI (the `mondoo-capi` crate, `libmondoo.so`) is a thin layer over
//! this API.
//!
//! [`Client`] is async (tokio; use it from any runtime, multi-thread or current-thread);
//! [`blocking::Client`] is the same client for callers without a runtime, on a small
//! runtime of its own. [`CancelToken`] cancels either's operations.

pub mod blocking;
mod cancel;
pub mod config;
pub mod error;
pub mod flows;
pub mod rpc;
pub mod signer;
pub mod sts;
pub mod sysinfo;
pub mod token;

pub use cancel::CancelToken;
pub use config::{Config, ConfigFormat, ConfigSource, LoadOptions};
pub use error::{Code, Error, ErrorClass, Result};
pub use flows::Client;
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
