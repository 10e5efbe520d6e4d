//! The async client inside a tokio runtime: `cnspec status` for the config cnspec would
//! load, with a health check run beside it on a clone of the client.
//!
//! `cargo run --example async_status [CONFIG]`

use mondoo::ClientOptions;
use mondoo::{Client, Config, LoadOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = LoadOptions::new();
    options.path = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let config = Config::load_with(&options)?;
    let client = Client::new(config, ClientOptions::default())?;
    // A clone shares the connection pool; both calls run at once on this runtime.
    let health = tokio::spawn({
        let client = client.clone();
        async move { client.health().await }
    });
    let status = client.status().await?;
    print!("{}", status.to_text());
    match health.await? {
        Ok(h) => println!("health check: {:.1} ms", h.round_trip.as_secs_f64() * 1000.0),
        Err(e) => println!("health check failed: {e}"),
    }
    std::process::exit(status.exit_code());
}
