//! Configuration: where it comes from (protocol section 1.2), what it means (1.1), and
//! writing it back safely (1.5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;

/// Where a loaded config came from; `as_str` is what status prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// `MONDOO_CONFIG_BASE64`
    Base64Env,
    /// a path given by the caller (`--config`)
    Explicit,
    /// `MONDOO_CONFIG_PATH`
    EnvPath,
    /// the home or system default file
    Default,
    /// nothing found: unregistered; registration writes to the home path
    None,
}

impl ConfigSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSource::Base64Env => "$MONDOO_CONFIG_BASE64",
            ConfigSource::Explicit => "--config",
            ConfigSource::EnvPath => "$MONDOO_CONFIG_PATH",
            ConfigSource::Default => "default",
            ConfigSource::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

/// Inputs of the config search, injectable so tests need not touch the process env.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// explicit path (`--config`)
    pub path: Option<PathBuf>,
    /// environment variables; `None` = the process environment
    pub env: Option<BTreeMap<String, String>>,
    /// home directory; `None` = from the environment
    pub home: Option<PathBuf>,
    /// system config path; `None` = the OS default
    pub system_path: Option<PathBuf>,
}

/// A loaded configuration document. Debug never prints the private key.
#[derive(Clone)]
pub struct Config {
    _todo: (),
}

impl Config {
    /// Load with the full precedence, from the process environment.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        Config::load_with(&LoadOptions { path: explicit.map(Path::to_path_buf), ..Default::default() })
    }
    pub fn load_with(_opts: &LoadOptions) -> Result<Config> {
        unimplemented!()
    }
    /// Parse a document (YAML or JSON) that has no file behind it.
    pub fn parse(_text: &str) -> Result<Config> {
        unimplemented!()
    }
    /// Read one key (case-insensitive), env override applied; scalars as strings.
    pub fn get(&self, _key: &str) -> Option<String> {
        unimplemented!()
    }
    pub fn mrn(&self) -> Option<String> {
        unimplemented!()
    }
    pub fn agent_mrn(&self) -> Option<String> {
        unimplemented!()
    }
    pub fn certificate(&self) -> Option<String> {
        unimplemented!()
    }
    /// The secret; crate-only so it cannot leak through the public API.
    pub(crate) fn private_key(&self) -> Option<zeroize::Zeroizing<String>> {
        unimplemented!()
    }
    /// Base URL, default `https://us.api.mondoo.com`, `https://` added when no scheme.
    pub fn api_endpoint(&self) -> String {
        unimplemented!()
    }
    /// `scope_mrn`, else `space_mrn`, else `parent_mrn`.
    pub fn scope_mrn(&self) -> Option<String> {
        unimplemented!()
    }
    pub fn api_proxy(&self) -> Option<String> {
        unimplemented!()
    }
    pub fn name(&self) -> Option<String> {
        unimplemented!()
    }
    pub fn labels(&self) -> BTreeMap<String, String> {
        unimplemented!()
    }
    pub fn annotations(&self) -> BTreeMap<String, String> {
        unimplemented!()
    }
    /// Non-empty `mrn` and `private_key`.
    pub fn is_registered(&self) -> bool {
        unimplemented!()
    }
    pub fn source(&self) -> ConfigSource {
        unimplemented!()
    }
    /// The file read, or the file a write will go to.
    pub fn path(&self) -> Option<&Path> {
        unimplemented!()
    }
    pub fn format(&self) -> ConfigFormat {
        unimplemented!()
    }
    /// The document as JSON with `private_key` replaced by `"<redacted>"`.
    pub fn redacted_json(&self) -> serde_json::Value {
        unimplemented!()
    }
    /// Set a key in the document (in memory; the key's existing spelling is kept).
    pub fn set(&mut self, _key: &str, _value: serde_json::Value) {
        unimplemented!()
    }
    /// Remove a key (case-insensitive) from the document (in memory).
    pub fn remove(&mut self, _key: &str) {
        unimplemented!()
    }
    /// Write the document to `path()` atomically (protocol 1.5); errors when there is
    /// no path (`MONDOO_CONFIG_BASE64`).
    pub fn save(&self) -> Result<()> {
        unimplemented!()
    }
    /// Change where `save` writes (a registration from `MONDOO_CONFIG_BASE64` plus a path).
    pub fn set_path(&mut self, _path: PathBuf) {
        unimplemented!()
    }
}

/// Write `bytes` to `path` atomically: temp file in the same directory, fsync, rename,
/// fsync of the directory; mode 0600 (never wider than the file had), owner kept,
/// missing parents created 0700.
pub fn write_atomic(_path: &Path, _bytes: &[u8]) -> Result<()> {
    unimplemented!()
}
