//! Helpers shared by the integration tests: fixtures, and configs and clients that see
//! an empty environment (no proxy or override of the machine leaks in).
#![allow(dead_code)] // each test file uses its own subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mondoo::blocking::Client;
use mondoo::{ClientOptions, RegisterOptions};
use mondoo::{Config, LoadOptions};
use mondoo_platform::{Platform, TokenSpec};

/// A file of the repository's fixtures (`testdata/`).
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(rel)
}

/// Load options for an explicit path with an empty environment.
pub fn load_at(path: &Path) -> LoadOptions {
    LoadOptions::new().with_path(path.to_path_buf()).with_env(BTreeMap::new())
}

/// Client options with an empty environment and registration retries shortened to 1 ms.
pub fn options() -> ClientOptions {
    ClientOptions::new()
        .with_env(BTreeMap::new())
        .with_retry_delays(vec![Duration::from_millis(1); 3])
        .with_retry_jitter(Duration::ZERO)
        .with_timeout(Duration::from_secs(10))
}

/// `cnspec login --token` with a fresh token into the config at `path`: the client that
/// registered (its config is the one written).
pub fn token_login(platform: &Platform, path: &Path, options: ClientOptions) -> Client {
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(path)).unwrap(), options).unwrap();
    client.register(Some(&token), &RegisterOptions::default()).unwrap();
    client
}
