//! Quickstart: the whole libmondoo journey against the bundled local platform, with no
//! network beyond loopback.
//!
//! `cargo run --example quickstart`
//!
//! 1. start the local platform (a real HTTP server on 127.0.0.1) and mint a token,
//! 2. register into a temporary config (`cnspec login --token`),
//! 3. print the status (`cnspec status`),
//! 4. sign a payload, make a signed call and a Platform API (GraphQL) query,
//! 5. log out (`cnspec logout --force`).

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::path::PathBuf;

use mondoo::blocking::Client;
use mondoo::{ClientOptions, LogoutOptions, RegisterOptions};
use mondoo::{Config, LoadOptions};
use mondoo_platform::{Platform, PlatformOptions, TokenSpec};

fn main() -> Result<(), Box<dyn StdError>> {
    let platform = Platform::start(PlatformOptions::default())?;
    println!("# local platform listening at {}", platform.url());

    let token = platform.mint_token(&TokenSpec::default())?;
    let dir = std::env::temp_dir().join(format!("libmondoo-quickstart-{}", std::process::id()));
    let config_path: PathBuf = dir.join("mondoo.yml");
    // An empty environment: MONDOO_API_ENDPOINT, MONDOO_API_PROXY and the like of the
    // caller's shell must not send the quickstart anywhere but the local platform.
    let load = LoadOptions::new().with_path(config_path.clone()).with_env(BTreeMap::new());
    let options = || ClientOptions::new().with_env(BTreeMap::new());

    println!("\n# 1. register with a registration token");
    let client = Client::new(Config::for_registration(&load)?, options())?;
    let registration = client.register(Some(&token), &RegisterOptions::new().with_name("quickstart"))?;
    println!("registered agent {}", registration.agent_mrn);
    println!("config written to {} (mode 0600)", config_path.display());

    println!("\n# 2. status, from the config on disk");
    let client = Client::new(Config::load_with(&load)?, options())?;
    let status = client.status()?;
    print!("{}", status.to_text());

    println!("\n# 3. sign a payload and make a signed call");
    let body = br#"{"hello":"platform"}"#;
    let bearer = client.sign(body)?;
    println!("bearer for {} body bytes: {}...", body.len(), &bearer[..48]);
    let echoed = client.call("Echo", "Say", &serde_json::json!({ "hello": "platform" }))?;
    println!("Echo/Say answered: {echoed}");
    client.checkin()?;
    println!("check-in accepted");
    // The Platform API (GraphQL at /query) with the same service account's bearer.
    let viewer = client.graphql("{ viewer { mrn name } }", None)?.into_data()?;
    println!("Platform API viewer: {}", viewer["viewer"]["mrn"]);

    println!("\n# 4. log out");
    client.logout(&LogoutOptions::default())?;
    let after = Config::load_with(&load)?;
    println!("logged out; config registered: {}", after.is_registered());

    std::fs::remove_dir_all(&dir).ok();
    if status.exit_code() != 0 {
        return Err("status did not report an authenticated client".into());
    }
    Ok(())
}
