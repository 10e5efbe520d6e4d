//! Configuration: where it comes from (protocol section 1.2), what it means (1.1), and
//! writing it back safely (1.5).
//!
//! The document is kept as an ordered YAML mapping, exactly as read: keys owned by other
//! tools (nested maps, lists, dotted keys such as `scan_interval.timer`) survive a rewrite
//! with their values and their order. Keys match case-insensitively, as in Go (viper).
//! Environment overrides (`MONDOO_<KEY>`) are applied when a value is read and never
//! written back.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};
use zeroize::Zeroize;

use crate::error::{Code, Error, Result};

// public (hidden) for the config_parse fuzz target's comparison with serde_json
#[doc(hidden)]
pub mod json_text;
pub(crate) mod redact;
// public (hidden) for the config_parse fuzz target's check of the nesting bound
#[doc(hidden)]
pub mod structure;
#[cfg(unix)]
mod write_checks;

/// How a client authenticates as a service account ([`Config::auth_method`]); status
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// the config's own `private_key`: every request signed
    Key,
    /// the config's static `token`
    StaticToken,
    /// keyless: claims signed by the ssh-agent's keys, exchanged at the SecureTokenService
    Ssh,
    /// keyless: an identity token (workload identity federation) exchanged at the
    /// SecureTokenService
    WorkloadIdentity,
}

impl AuthMethod {
    /// `key`, `static_token`, `ssh`, `workload_identity`: what status prints.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Key => "key",
            AuthMethod::StaticToken => "static_token",
            AuthMethod::Ssh => "ssh",
            AuthMethod::WorkloadIdentity => "workload_identity",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a loaded config came from; `as_str` is what status prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// How status names the source: `--config`, `$MONDOO_CONFIG_PATH`, `default`, ...
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

/// The syntax of a config document; a save writes the format it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigFormat {
    /// YAML (what cnspec writes)
    Yaml,
    /// JSON
    Json,
}

impl ConfigFormat {
    /// `"yaml"` or `"json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFormat::Yaml => "yaml",
            ConfigFormat::Json => "json",
        }
    }
    /// The format a new file at `path` is written in: JSON for a `.json` name, else YAML.
    pub fn for_path(path: &Path) -> ConfigFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => ConfigFormat::Json,
            _ => ConfigFormat::Yaml,
        }
    }
}

/// Inputs of the config search, injectable so tests need not touch the process env.
/// [`LoadOptions::new`] (= `Default`) searches as cnspec does; the `with_*` methods
/// change one input (the struct may grow, so it cannot be built from a literal outside
/// this crate).
///
/// ```
/// use std::collections::BTreeMap;
/// let options = mondoo::LoadOptions::new().with_path("mondoo.yml").with_env(BTreeMap::new());
/// assert_eq!(options.path.as_deref(), Some(std::path::Path::new("mondoo.yml")));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// explicit path (`--config`); an empty path is an error (`InvalidArgument`), never
    /// the default search
    pub path: Option<PathBuf>,
    /// environment variables; `None` = the process environment
    pub env: Option<BTreeMap<String, String>>,
    /// home directory; `None` = from the environment
    pub home: Option<PathBuf>,
    /// system config path; `None` = the OS default
    pub system_path: Option<PathBuf>,
}

impl LoadOptions {
    /// The search cnspec does, in the process environment.
    pub fn new() -> LoadOptions {
        LoadOptions::default()
    }
    /// Sets [`path`](Self::path).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }
    /// Sets [`env`](Self::env): the variables consulted instead of the process's.
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }
    /// Sets [`home`](Self::home).
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }
    /// Sets [`system_path`](Self::system_path).
    pub fn with_system_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.system_path = Some(path.into());
        self
    }
}

/// Name of the base64 variable; also what messages say instead of a file name.
pub const ENV_CONFIG_BASE64: &str = "MONDOO_CONFIG_BASE64";
/// Name of the config path variable.
pub const ENV_CONFIG_PATH: &str = "MONDOO_CONFIG_PATH";
/// Default API endpoint when the config names none.
pub const DEFAULT_API_ENDPOINT: &str = "https://us.api.mondoo.com";
/// Largest config document accepted (a real one is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The source Go supports and libmondoo does not.
const AWS_SSM_PREFIX: &str = "aws-ssm-ps://";

/// Keys libmondoo reads; `MONDOO_<KEY>` overrides each even when the file lacks it.
pub const KNOWN_KEYS: &[&str] = &[
    "mrn",
    "private_key",
    "token",
    "certificate",
    "api_endpoint",
    "scope_mrn",
    "space_mrn",
    "parent_mrn",
    "agent_mrn",
    "api_proxy",
    "name",
];

/// A config value as it may be shown (`config show`): a value that looks like a PEM
/// private key or a JWT-like token becomes `<redacted>`, the userinfo of a URL in it
/// (`http://user:password@proxy`) becomes `redacted`.
///
/// ```
/// assert_eq!(mondoo::redact_for_display("http://user:secret@proxy:3128"), "http://redacted@proxy:3128/");
/// ```
pub fn redact_for_display(value: &str) -> String {
    redact::value_for_display(value)
}

/// The home-directory config path under `home` (`$HOME/.config/mondoo/mondoo.yml`).
pub fn home_config_path(home: &Path) -> PathBuf {
    home.join(".config").join("mondoo").join("mondoo.yml")
}

/// The system config path of this OS.
pub fn system_config_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Mondoo/etc/mondoo.yml")
    } else if cfg!(windows) {
        PathBuf::from(r"C:\ProgramData\Mondoo\mondoo.yml")
    } else {
        PathBuf::from("/etc/opt/mondoo/mondoo.yml")
    }
}

/// The environment variable that overrides `key`: `MONDOO_` + key upper-cased with `-`
/// and `.` turned into `_` (`scan_interval.timer` → `MONDOO_SCAN_INTERVAL_TIMER`).
pub fn env_var_name(key: &str) -> String {
    let mut name = String::from("MONDOO_");
    name.extend(key.chars().map(|c| match c {
        '-' | '.' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// A loaded configuration document. Debug never prints the private key.
#[derive(Clone)]
pub struct Config {
    /// the document as read (or as changed by `set`/`remove`), without env overrides
    doc: Mapping,
    source: ConfigSource,
    path: Option<PathBuf>,
    format: ConfigFormat,
    /// the `MONDOO_*` variables seen at load time (overrides are read from here)
    env: BTreeMap<String, String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("source", &self.source)
            .field("path", &self.path)
            .field("format", &self.format)
            .field("mrn", &self.service_account_mrn().map(|m| redact::value_for_display(&m)))
            .field("registered", &self.is_registered())
            .finish_non_exhaustive()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // The private key lives in the document (and maybe in MONDOO_PRIVATE_KEY).
        for value in self.doc.values_mut() {
            scrub(value);
        }
        for value in self.env.values_mut() {
            value.zeroize();
        }
    }
}

impl Config {
    /// Load with the full precedence, from the process environment: `explicit` (as
    /// `--config`), else `MONDOO_CONFIG_BASE64`, `MONDOO_CONFIG_PATH`, the home and the
    /// system file; no file at all is an unregistered config, not an error.
    ///
    /// ```no_run
    /// # fn run() -> mondoo::Result<()> {
    /// let config = mondoo::Config::load(None)?;
    /// println!("{} from {}", config.api_endpoint(), config.source().as_str());
    /// if !config.is_registered() {
    ///     println!("not registered yet");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        Config::load_with(&LoadOptions { path: explicit.map(Path::to_path_buf), ..LoadOptions::default() })
    }

    /// Load with the full precedence (protocol 1.2) and check the document
    /// ([`Config::validate`]).
    pub fn load_with(opts: &LoadOptions) -> Result<Config> {
        let config = Config::load_document(opts)?;
        config.validate()?;
        Ok(config)
    }

    /// The config a registration starts from: like [`Config::load_with`], but a missing
    /// explicit or `$MONDOO_CONFIG_PATH` file is created by the registration, a config from
    /// `MONDOO_CONFIG_BASE64` is written to the explicit path when one is given, and an
    /// unsupported `auth` section does not stop a token login (it is replaced).
    ///
    /// ```no_run
    /// # fn run() -> mondoo::Result<()> {
    /// let options = mondoo::LoadOptions::new().with_path("/etc/opt/mondoo/mondoo.yml");
    /// let config = mondoo::Config::for_registration(&options)?;
    /// let client = mondoo::blocking::Client::new(config, mondoo::ClientOptions::new())?;
    /// client.register(Some("<registration token>"), &mondoo::RegisterOptions::new())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_registration(options: &LoadOptions) -> Result<Config> {
        let env = options.env.clone().unwrap_or_else(crate::process_env);
        match Config::load_document(options) {
            Ok(mut config) => {
                if config.source() == ConfigSource::Base64Env {
                    if let Some(path) = options.path.clone().filter(|p| !p.as_os_str().is_empty()) {
                        config.set_path(path);
                    }
                }
                Ok(config)
            }
            Err(e) if e.code() == Code::ConfigNotFound => {
                let path = e.path().map(|p| p.to_path_buf()).ok_or(e.clone())?;
                let source = if options.path.is_some() { ConfigSource::Explicit } else { ConfigSource::EnvPath };
                Ok(Config::empty_at(path, source).with_env(&env))
            }
            Err(e) => Err(e),
        }
    }

    /// Find and parse the config like [`Config::load_with`], without the checks of
    /// [`Config::validate`]. For flows that rewrite the document anyway (a token login
    /// replaces an unsupported `auth` section or a broken half-registration); a document
    /// that does not parse is still an error.
    pub fn load_document(opts: &LoadOptions) -> Result<Config> {
        // An empty path is a caller's mistake (`--config ""`, an unset variable expanded),
        // not a request for the default search, which would load some other file.
        if opts.path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(Error::new(
                Code::InvalidArgument,
                "the config path is empty: give a file, or no path for the default search",
            ));
        }
        let env = match &opts.env {
            Some(env) => env.clone(),
            None => process_env(),
        };
        let nonempty = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();

        if let Some(b64) = nonempty(ENV_CONFIG_BASE64) {
            let text = decode_base64_config(&b64)?;
            let (doc, format) = parse_document(&text, &format!("${ENV_CONFIG_BASE64}"), None)?;
            let env = mondoo_vars(&env);
            return Ok(Config { doc, source: ConfigSource::Base64Env, path: None, format, env });
        }

        let chosen = match &opts.path {
            Some(p) => Some((p.clone(), ConfigSource::Explicit)),
            None => nonempty(ENV_CONFIG_PATH).map(|p| (PathBuf::from(p), ConfigSource::EnvPath)),
        };
        if let Some((path, source)) = chosen {
            if path.to_string_lossy().starts_with(AWS_SSM_PREFIX) {
                return Err(Error::new(
                    Code::ConfigUnsupportedSource,
                    format!(
                        "config source {} (from {}) is not supported: AWS SSM Parameter Store is not available in libmondoo",
                        path.display(),
                        source.as_str()
                    ),
                ));
            }
            if !exists(&path)? {
                return Err(Error::new(
                    Code::ConfigNotFound,
                    format!("no config at {} (from {})", path.display(), source.as_str()),
                )
                .with_path(&path));
            }
            return Config::read_file(path, source, mondoo_vars(&env));
        }

        let home = opts.home.clone().or_else(|| home_from_env(&env));
        let home_path = home.as_deref().map(home_config_path);
        if let Some(path) = &home_path {
            if exists(path)? {
                return Config::read_file(path.clone(), ConfigSource::Default, mondoo_vars(&env));
            }
        }
        let system = opts.system_path.clone().unwrap_or_else(system_config_path);
        if exists(&system)? {
            return Config::read_file(system, ConfigSource::Default, mondoo_vars(&env));
        }

        let mut config = Config::empty(ConfigSource::None, home_path);
        config.env = mondoo_vars(&env);
        Ok(config)
    }

    fn read_file(path: PathBuf, source: ConfigSource, env: BTreeMap<String, String>) -> Result<Config> {
        // The text holds the private key: wipe it once parsed.
        let text = zeroize::Zeroizing::new(read_limited(&path)?);
        let (doc, format) =
            parse_document(&text, &path.display().to_string(), Some(&path)).map_err(|e| e.with_path(&path))?;
        Ok(Config { doc, source, path: Some(path), format, env })
    }

    /// Parse a document (YAML or JSON) that has no file behind it. No environment
    /// overrides apply to it (it has no environment); source is `None`, path unset.
    pub fn parse(text: &str) -> Result<Config> {
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(Error::new(
                Code::ConfigTooLarge,
                format!("config document is larger than {MAX_CONFIG_BYTES} bytes"),
            ));
        }
        let (doc, format) = parse_document(text, "config", None)?;
        Ok(Config { doc, source: ConfigSource::None, path: None, format, env: BTreeMap::new() })
    }

    /// An empty config that a later [`Config::save`] writes to `path` (format from its
    /// extension): "no config yet", e.g. before the first registration. No environment
    /// overrides apply; use [`Config::with_env`] to add them.
    pub fn empty_at(path: impl Into<PathBuf>, source: ConfigSource) -> Config {
        Config::empty(source, Some(path.into()))
    }

    fn empty(source: ConfigSource, path: Option<PathBuf>) -> Config {
        let format = path.as_deref().map(ConfigFormat::for_path).unwrap_or(ConfigFormat::Yaml);
        Config { doc: Mapping::new(), source, path, format, env: BTreeMap::new() }
    }

    /// Use these environment variables for overrides (only `MONDOO_*` ones are kept).
    pub fn with_env(mut self, env: &BTreeMap<String, String>) -> Config {
        self.env = mondoo_vars(env);
        self
    }

    /// Check what the document means (protocol 1.1): an unsupported auth method
    /// (`auth: {method: X}`, `type: external_account`), an `mrn` without a
    /// `private_key` or `token`, or a known key whose value is not a scalar, is an error naming the
    /// file and the key. Key parsing and certificate matching are the signer's job.
    pub fn validate(&self) -> Result<()> {
        let at = self.location();
        let with_path = |e: Error| match &self.path {
            Some(p) if self.source != ConfigSource::Base64Env => e.with_path(p),
            _ => e,
        };
        match self.auth_method_name().as_deref() {
            None | Some("ssh" | "wif") => {}
            Some(method) => {
                return Err(with_path(Error::new(
                    Code::ConfigUnsupportedAuth,
                    format!("{at}: unsupported auth method: {method} (key `auth`)"),
                )));
            }
        }
        if self.auth_method() == Some(AuthMethod::WorkloadIdentity) {
            crate::sts::WifConfig::from_config(self).map_err(|e| with_path(e.context(&at)))?;
        }
        if self.auth_method() == Some(AuthMethod::Ssh) {
            // the SSH claims' subject and resource (protocol 8)
            for (key, value) in [("mrn", self.service_account_mrn()), ("scope_mrn (or space_mrn)", self.space_mrn())] {
                if value.is_none() {
                    return Err(with_path(Error::new(
                        Code::ConfigInvalid,
                        format!("{at}: auth method ssh needs `{key}`: the identity and the scope to exchange for"),
                    )));
                }
            }
        }
        for key in KNOWN_KEYS {
            if let Some(value) = lookup(&self.doc, key) {
                if matches!(value, Value::Mapping(_) | Value::Sequence(_)) {
                    return Err(with_path(Error::new(
                        Code::ConfigInvalid,
                        format!("{at}: key `{key}` must be a string, found a {}", kind_name(value)),
                    )));
                }
            }
        }
        // `mrn: 12345` would otherwise be read as the text "12345" and signed with as a kid
        if let Some(value) = lookup(&self.doc, "mrn") {
            match value {
                Value::String(s) if s.trim().is_empty() || s.starts_with("//") => {}
                Value::String(_) => {
                    return Err(with_path(Error::new(
                        Code::ConfigInvalid,
                        format!("{at}: key `mrn` must be an MRN (`//...`), e.g. //agents.api.mondoo.app/spaces/SPACE/serviceaccounts/ID"),
                    )))
                }
                Value::Null => {}
                other => {
                    return Err(with_path(Error::new(
                        Code::ConfigInvalid,
                        format!("{at}: key `mrn` must be an MRN string (`//...`), found a {}", kind_name(other)),
                    )))
                }
            }
        }
        if self.service_account_mrn().is_some()
            && self.private_key().is_none()
            && self.token().is_none()
            && !self.needs_exchange()
        {
            return Err(with_path(Error::new(
                Code::ConfigInvalid,
                format!("{at}: key `mrn` is set but `private_key` (or `token`) is missing or empty"),
            )));
        }
        Ok(())
    }

    /// The file errors about this config name: the file read (or the one a registration
    /// writes); none for `MONDOO_CONFIG_BASE64`, whose content is in no file.
    pub(crate) fn error_path(&self) -> Option<&Path> {
        self.path.as_deref().filter(|_| self.source != ConfigSource::Base64Env)
    }

    /// `e` with the config's file as its path, unless it names a file already (the C
    /// ABI's field readers).
    #[doc(hidden)]
    pub fn locate(&self, e: Error) -> Error {
        match self.error_path() {
            Some(p) if e.path().is_none() => e.with_path(p),
            _ => e,
        }
    }

    /// What messages call this config: its file, or `$MONDOO_CONFIG_BASE64`.
    fn location(&self) -> String {
        match (&self.path, self.source) {
            (_, ConfigSource::Base64Env) => format!("${ENV_CONFIG_BASE64}"),
            (Some(p), _) => p.display().to_string(),
            (None, _) => "config".to_string(),
        }
    }

    /// Read one key (case-insensitive), env override applied; scalars as strings.
    /// The override `MONDOO_<KEY>` (set and non-empty) applies to every key libmondoo
    /// reads (`mrn`, `private_key`, `token`, `certificate`, `api_endpoint`, `scope_mrn`,
    /// `space_mrn`, `parent_mrn`, `agent_mrn`, `api_proxy`, `name`) and to any key
    /// present in the document. Maps, lists and null
    /// read as `None`.
    pub fn get(&self, key: &str) -> Option<String> {
        if is_secret(key) {
            return None;
        }
        self.lookup_with_env(key)
    }

    fn lookup_with_env(&self, key: &str) -> Option<String> {
        self.env_override(key).or_else(|| lookup(&self.doc, key).and_then(scalar_string))
    }

    /// The value in the document only (no env override), scalars as strings.
    pub fn file_value(&self, key: &str) -> Option<String> {
        if is_secret(key) {
            return None;
        }
        lookup(&self.doc, key).and_then(scalar_string)
    }

    /// The override for `key` from the environment (`MONDOO_<KEY>`, set and non-empty),
    /// when one applies: for every known key and any key present in the document, never
    /// for `MONDOO_CONFIG_PATH`/`MONDOO_CONFIG_BASE64` themselves.
    pub fn env_value(&self, key: &str) -> Option<String> {
        if is_secret(key) {
            return None;
        }
        self.env_override(key)
    }

    fn env_override(&self, key: &str) -> Option<String> {
        let name = env_var_name(key);
        if name == ENV_CONFIG_PATH || name == ENV_CONFIG_BASE64 {
            return None;
        }
        let applies = KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) || lookup(&self.doc, key).is_some();
        if !applies {
            return None;
        }
        self.env.get(&name).filter(|v| !v.is_empty()).cloned()
    }

    /// The raw value of a key in the document (case-insensitive), as JSON; no env
    /// override. `private_key` and `token` are never returned here (secrets).
    pub fn get_value(&self, key: &str) -> Option<serde_json::Value> {
        if is_secret(key) {
            return None;
        }
        lookup(&self.doc, key).map(yaml_to_json)
    }

    /// `get`, with an empty value treated as absent.
    fn get_nonempty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    /// The service account's MRN (the key `mrn`).
    pub fn service_account_mrn(&self) -> Option<String> {
        self.get_nonempty("mrn")
    }
    /// The agent's MRN (`agent_mrn`), set by a registration.
    pub fn agent_mrn(&self) -> Option<String> {
        self.get_nonempty("agent_mrn")
    }
    /// The service account's certificate (PEM).
    pub fn certificate(&self) -> Option<String> {
        self.get_nonempty("certificate")
    }
    /// The secret; crate-only so it cannot leak through the public API.
    pub(crate) fn private_key(&self) -> Option<zeroize::Zeroizing<String>> {
        self.lookup_with_env("private_key").filter(|v| !v.trim().is_empty()).map(zeroize::Zeroizing::new)
    }
    /// The service account's static API token (protocol 1.1 `token`), a secret like the
    /// key; crate-only for the same reason.
    pub(crate) fn token(&self) -> Option<zeroize::Zeroizing<String>> {
        self.lookup_with_env("token").filter(|v| !v.trim().is_empty()).map(zeroize::Zeroizing::new)
    }
    /// Base URL, default `https://us.api.mondoo.com`, `https://` added when no scheme,
    /// trailing slashes trimmed.
    pub fn api_endpoint(&self) -> String {
        // a WIF document's `universeDomain` is the API endpoint when none is given
        match self.get_nonempty("api_endpoint").or_else(|| self.get_nonempty("universeDomain")) {
            Some(v) => normalize_endpoint(&v),
            None => DEFAULT_API_ENDPOINT.to_string(),
        }
    }
    /// The space (or organization) the account belongs to: the key `scope_mrn`, else
    /// `space_mrn`, else `parent_mrn`.
    pub fn space_mrn(&self) -> Option<String> {
        ["scope_mrn", "space_mrn", "parent_mrn"].iter().find_map(|k| self.get_nonempty(k))
    }
    /// The proxy the config names (`api_proxy`).
    pub fn api_proxy(&self) -> Option<String> {
        self.get_nonempty("api_proxy")
    }
    /// The agent's name (`name`).
    pub fn name(&self) -> Option<String> {
        self.get_nonempty("name")
    }
    /// The agent's labels (`labels`).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.string_map("labels")
    }
    /// The annotations a registration wrote (`annotations`).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.string_map("annotations")
    }
    /// The `features` list. A string (also from `MONDOO_FEATURES`) is split on commas
    /// and whitespace, as Go's string-slice reading does.
    pub fn features(&self) -> Vec<String> {
        let split = |s: &str| -> Vec<String> {
            s.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()).map(str::to_string).collect()
        };
        if let Some(v) = self.env_value("features") {
            return split(&v);
        }
        match lookup(&self.doc, "features") {
            Some(Value::Sequence(items)) => items.iter().filter_map(scalar_string).collect(),
            Some(other) => scalar_string(other).map(|s| split(&s)).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn string_map(&self, key: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(Value::Mapping(m)) = lookup(&self.doc, key) {
            for (k, v) in m {
                if let (Some(k), Some(v)) = (scalar_string(k), scalar_string(v)) {
                    out.insert(k, v);
                }
            }
        }
        out
    }

    /// The `auth.method` the document names (lower case), if any.
    fn auth_method_name(&self) -> Option<String> {
        let method = match lookup(&self.doc, "auth")? {
            Value::Mapping(m) => lookup(m, "method").and_then(scalar_string),
            other => scalar_string(other),
        };
        method.map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty())
    }

    /// How this config authenticates: a keyless method (`auth.method: ssh`, a
    /// `type: external_account` document or `auth.method: wif`) wins over any key in it;
    /// else a static `token`, else a `private_key`; None without credentials (or with an
    /// unsupported method, which [`Config::validate`] refuses).
    pub fn auth_method(&self) -> Option<AuthMethod> {
        match self.auth_method_name().as_deref() {
            Some("ssh") => return Some(AuthMethod::Ssh),
            Some("wif") => return Some(AuthMethod::WorkloadIdentity),
            Some(_) => return None,
            None => {}
        }
        if lookup(&self.doc, "type").and_then(scalar_string).is_some_and(|t| t.trim() == "external_account") {
            return Some(AuthMethod::WorkloadIdentity);
        }
        match (self.service_account_mrn(), self.token(), self.private_key()) {
            (Some(_), Some(_), _) => Some(AuthMethod::StaticToken),
            (Some(_), None, Some(_)) => Some(AuthMethod::Key),
            _ => None,
        }
    }

    /// The config has no key of its own: the client exchanges another proof (an ssh-agent
    /// signature, an identity token) for a short-lived service account (protocol 8).
    pub fn needs_exchange(&self) -> bool {
        matches!(self.auth_method(), Some(AuthMethod::Ssh | AuthMethod::WorkloadIdentity))
    }

    /// Non-empty `mrn`, and a non-empty `private_key` or `token`.
    pub fn is_registered(&self) -> bool {
        self.service_account_mrn().is_some() && (self.private_key().is_some() || self.token().is_some())
    }
    /// Where the config came from.
    pub fn source(&self) -> ConfigSource {
        self.source
    }
    /// The file read, or the file a write will go to.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The format `save` writes (the one read, or the path's).
    pub fn format(&self) -> ConfigFormat {
        self.format
    }
    /// The document as JSON for showing: `private_key` (and `token`, at any depth)
    /// replaced by `"<redacted>"`, and so is any value or key that looks like a PEM private
    /// key or a JWT-like token wherever it is; the userinfo of URLs (`api_proxy`,
    /// `api_endpoint`, ...) becomes `redacted`. (The document as in the file: env
    /// overrides are not shown.)
    pub fn redacted_json(&self) -> serde_json::Value {
        let mut out = yaml_to_json(&Value::Mapping(self.doc.clone()));
        redact::json_for_display(&mut out);
        out
    }
    /// Set a key in the document (in memory; the key's existing spelling is kept; a new
    /// key is written lower-case).
    pub fn set(&mut self, key: &str, mut value: serde_json::Value) {
        let converted = json_to_yaml(&value);
        scrub_json(&mut value);
        let value = converted;
        match lookup_key(&self.doc, key) {
            Some(existing) => {
                if let Some(mut old) = self.doc.insert(existing, value) {
                    scrub(&mut old);
                }
            }
            None => {
                self.doc.insert(Value::String(key.to_lowercase()), value);
            }
        }
    }
    /// Remove a key (case-insensitive; every spelling of it) from the document (in
    /// memory). The order of the other keys is kept.
    pub fn remove(&mut self, key: &str) {
        while let Some(existing) = lookup_key(&self.doc, key) {
            if let Some(mut old) = self.doc.shift_remove(&existing) {
                scrub(&mut old);
            }
        }
    }
    /// The document serialized in its format, as `save` writes it (contains the secret).
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut text = match self.format {
            ConfigFormat::Json => serde_json::to_string_pretty(&yaml_to_json(&Value::Mapping(self.doc.clone())))
                .map_err(|e| Error::new(Code::Io, format!("cannot serialize the config as JSON: {e}")))?,
            ConfigFormat::Yaml => {
                if self.doc.is_empty() {
                    // serde_yaml writes `{}`; an empty file is what Go reads as empty too
                    String::new()
                } else {
                    serde_yaml_ng::to_string(&self.doc)
                        .map_err(|e| Error::new(Code::Io, format!("cannot serialize the config as YAML: {e}")))?
                }
            }
        };
        if self.format == ConfigFormat::Json && !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text.into_bytes())
    }
    /// Write the document to `path()` atomically (protocol 1.5); errors when there is
    /// no path (`MONDOO_CONFIG_BASE64`). Env overrides are never written.
    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            let why = match self.source {
                ConfigSource::Base64Env => format!(
                    "the configuration came from ${ENV_CONFIG_BASE64}, which cannot be written back; give a config path (--config) to write to"
                ),
                _ => "the configuration has no file to write to (no home directory found); give a config path (--config)".to_string(),
            };
            return Err(Error::new(Code::ConfigNotWritable, why));
        };
        let bytes = zeroize::Zeroizing::new(self.to_bytes()?);
        write_atomic(path, &bytes)
    }
    /// Whether `save` can write this config with up to `extra` more bytes in it, checked
    /// without changing it: no path is `ConfigNotWritable` as for `save`; then every rule
    /// of [`write_atomic`] (missing directories are created, as a save would), and a
    /// temporary file of the expected size is written, synced and removed beside it, so
    /// a read-only or full file system, a file that cannot be replaced or a link that
    /// leads nowhere usable fails here. For a registration: check before registering.
    pub(crate) fn check_writable(&self, extra: usize) -> Result<()> {
        let Some(path) = &self.path else { return self.save() };
        let expected = self.to_bytes()?.len() + extra;
        let filler = vec![b'#'; expected];
        write_atomic_with(path, &filler, Writer::current(), Commit::<NoHook>::ProbeOnly)
    }
    /// Change where `save` writes (a registration from `MONDOO_CONFIG_BASE64` plus a path).
    /// The format follows the new path's extension (`.json` → JSON, else YAML).
    pub fn set_path(&mut self, path: PathBuf) {
        self.format = ConfigFormat::for_path(&path);
        self.path = Some(path);
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// The process's `MONDOO_*` variables plus the ones the search needs (HOME, USERPROFILE).
fn process_env() -> BTreeMap<String, String> {
    crate::process_env()
        .into_iter()
        .filter(|(k, _)| k.starts_with("MONDOO_") || k == "HOME" || k == "USERPROFILE")
        .collect()
}

/// Only the `MONDOO_*` variables (what a Config keeps for overrides).
fn mondoo_vars(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.iter().filter(|(k, _)| k.starts_with("MONDOO_")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn home_from_env(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        get("HOME").or_else(|| get("USERPROFILE"))
    } else {
        get("HOME")
    }
}

/// Whether `path` exists; an error other than "not found" (e.g. permission) is reported.
fn exists(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        // a path below a regular file ("not a directory") cannot exist either
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(false),
        Err(e) => Err(Error::new(Code::Io, format!("cannot access config {}: {e}", path.display())).with_path(path)),
    }
}

/// Read a config file of at most [`MAX_CONFIG_BYTES`] as UTF-8 text.
fn read_limited(path: &Path) -> Result<String> {
    use std::io::Read;
    let io_err =
        |e: std::io::Error| Error::new(Code::Io, format!("cannot read config {}: {e}", path.display())).with_path(path);
    let too_large = || {
        Error::new(Code::ConfigTooLarge, format!("config {} is larger than {} bytes", path.display(), MAX_CONFIG_BYTES))
            .with_path(path)
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let expected = file.metadata().map_err(io_err)?.len();
    if expected > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    // Read at most one byte more than allowed (the file may grow after the check) into
    // buffers that are wiped when replaced: the text may hold a private key.
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(expected as usize + 1));
    let mut chunk = zeroize::Zeroizing::new([0u8; 8192]);
    let mut limited = file.take(MAX_CONFIG_BYTES + 1);
    loop {
        let n = match limited.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        if bytes.len() + n > bytes.capacity() {
            let mut grown = zeroize::Zeroizing::new(Vec::with_capacity((bytes.len() + n).max(bytes.capacity() * 2)));
            grown.extend_from_slice(&bytes);
            bytes = grown;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        e.into_bytes().zeroize();
        Error::new(Code::ConfigParse, format!("{}: not UTF-8 text (invalid byte at offset {offset})", path.display()))
            .with_path(path)
    })
}

fn decode_base64_config(value: &str) -> Result<String> {
    use base64::Engine;
    if value.trim_start().starts_with(AWS_SSM_PREFIX) {
        return Err(Error::new(
            Code::ConfigUnsupportedSource,
            format!("${ENV_CONFIG_BASE64} names an AWS SSM parameter, which libmondoo does not support"),
        ));
    }
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() as u64 > MAX_CONFIG_BYTES * 2 {
        return Err(Error::new(
            Code::ConfigTooLarge,
            format!("${ENV_CONFIG_BASE64} is larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(compact.as_bytes()).map_err(|e| {
        Error::new(Code::ConfigParse, format!("${ENV_CONFIG_BASE64} is not valid standard base64: {e}"))
    })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::new(
            Code::ConfigTooLarge,
            format!("${ENV_CONFIG_BASE64} is larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::new(Code::ConfigParse, format!("${ENV_CONFIG_BASE64} does not decode to UTF-8 text")))
}

/// Parse YAML or JSON text into a mapping. `name` is what messages call the document;
/// `path` (when a file) decides JSON by its extension.
///
/// Which parser reads it:
/// - a document that starts with `{`, or a file named `.json` that starts with `{` or
///   `[`, is read as JSON first;
/// - such a `.json` file that is not JSON is a JSON error (line and column), never
///   retried as YAML: it was meant to be JSON, and YAML's error for it would only
///   confuse (and YAML's scanner is the slow one);
/// - a `.json` file that does not start like JSON (`mrn: ...`) is YAML by content and
///   read as YAML only (it is still written back as JSON);
/// - any other document is YAML, also one that starts with `{` but is not JSON (a YAML
///   flow mapping such as `{mrn: x}`), unless YAML refuses it too, when the JSON error
///   is the useful one.
///
/// Before either parser builds anything, the document's shape is checked
/// ([`structure`]): nesting deeper than [`structure::MAX_NESTING`] levels is refused at
/// the first level too many (parsing it costs time quadratic in its depth), and so is a
/// key given twice in one mapping, or twice at the top level in different case (keys
/// match case-insensitively there), with both places named.
fn parse_document(text: &str, name: &str, path: Option<&Path>) -> Result<(Mapping, ConfigFormat)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json_name = path.map(|p| ConfigFormat::for_path(p) == ConfigFormat::Json).unwrap_or(false);
    let first = text.trim_start().chars().next();
    let looks_json = first == Some('{');
    let starts_like_json = matches!(first, Some('{' | '['));

    let mut json_error = None;
    if looks_json || (json_name && starts_like_json) {
        let shape = structure::scan_json(text);
        if let Err(too_deep @ structure::Finding::TooDeep(_)) = &shape {
            return Err(shape_error(name, too_deep));
        }
        match json_text::parse(text) {
            Ok(mut json @ serde_json::Value::Object(_)) => {
                // the scan's duplicates are exact once the parser accepted the document
                if let Err(duplicate) = &shape {
                    scrub_json(&mut json);
                    return Err(shape_error(name, duplicate));
                }
                let doc = match json_to_yaml(&json) {
                    Value::Mapping(m) => m,
                    _ => Mapping::new(),
                };
                scrub_json(&mut json);
                return Ok((doc, ConfigFormat::Json));
            }
            Ok(mut other) => {
                scrub_json(&mut other);
                return Err(not_a_mapping(name, json_kind_name(&other)));
            }
            Err(e) if json_name => return Err(invalid_json(name, &e)),
            Err(e) => json_error = Some(e),
        }
    }

    // YAML. The exact scan runs a second libyaml pass, so only when the cheap bound says
    // the document may nest too deeply (a real config never does).
    let mut scanned = false;
    if structure::yaml_nesting_bound(text) > structure::MAX_NESTING {
        structure::scan_yaml(text).map_err(|f| shape_error(name, &f))?;
        scanned = true;
    }
    let value: Value = match serde_yaml_ng::from_str(text) {
        Ok(v) => v,
        Err(yaml_error) => {
            // a duplicate key is named with both places (serde_yaml_ng names one)
            if !scanned {
                structure::scan_yaml(text).map_err(|f| shape_error(name, &f))?;
            }
            // a document that starts like JSON: the JSON error is the useful one
            if let Some(e) = json_error {
                return Err(invalid_json(name, &e));
            }
            let message = match yaml_error.location() {
                Some(l) => format!(
                    "{name}:{}:{}: invalid YAML: {}",
                    l.line(),
                    l.column(),
                    strip_location(&yaml_error.to_string(), l.line(), l.column())
                ),
                // some errors have no place (too many alias expansions): say none
                None => format!("{name}: invalid YAML: {yaml_error}"),
            };
            return Err(Error::new(Code::ConfigParse, message));
        }
    };
    let format = if json_name { ConfigFormat::Json } else { ConfigFormat::Yaml };
    match value {
        Value::Mapping(m) => {
            if has_keys_differing_in_case(&m) {
                let mut m = m;
                m.values_mut().for_each(scrub);
                // the scan names both keys; were it to find none, still refuse
                structure::scan_yaml(text).map_err(|f| shape_error(name, &f))?;
                return Err(Error::new(
                    Code::ConfigParse,
                    format!("{name}: duplicate key: two top-level keys differ only in case"),
                ));
            }
            Ok((m, format))
        }
        // an empty file (or only comments) is an empty config, as in Go
        Value::Null => Ok((Mapping::new(), format)),
        other => Err(not_a_mapping(name, kind_name(&other))),
    }
}

/// Whether two top-level keys are the same key to a case-insensitive lookup.
fn has_keys_differing_in_case(doc: &Mapping) -> bool {
    let mut seen = std::collections::HashSet::new();
    doc.keys().any(|k| !seen.insert(key_string(k).to_lowercase()))
}

fn invalid_json(name: &str, e: &serde_json::Error) -> Error {
    Error::new(
        Code::ConfigParse,
        format!(
            "{name}:{}:{}: invalid JSON: {}",
            e.line(),
            e.column(),
            strip_location(&e.to_string(), e.line(), e.column())
        ),
    )
}

/// The error for a document whose shape was refused before parsing.
fn shape_error(name: &str, finding: &structure::Finding) -> Error {
    match finding {
        structure::Finding::TooDeep(at) => Error::new(
            Code::ConfigTooLarge,
            format!(
                "{name}:{at}: nested deeper than {} levels (a config is a flat mapping of keys to values)",
                structure::MAX_NESTING
            ),
        ),
        structure::Finding::DuplicateKey { first: (first_key, first_at), second: (second_key, second_at) } => {
            let (first_key, second_key) = (redact::key_for_message(first_key), redact::key_for_message(second_key));
            let spelling = if first_key == second_key {
                String::new()
            } else {
                format!(" as {first_key:?}; keys match case-insensitively")
            };
            Error::new(
                Code::ConfigParse,
                format!("{name}:{second_at}: duplicate key {second_key:?} (first at {first_at}{spelling})"),
            )
        }
    }
}

fn not_a_mapping(name: &str, found: &str) -> Error {
    Error::new(Code::ConfigParse, format!("{name}: the config must be a mapping of keys to values, found a {found}"))
}

/// Drop the " at line L column C" that the parsers append, since the message starts with it.
fn strip_location(message: &str, line: usize, col: usize) -> String {
    message.replacen(&format!(" at line {line} column {col}"), "", 1)
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

fn json_kind_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "mapping",
    }
}

fn normalize_endpoint(value: &str) -> String {
    let value = value.trim();
    let with_scheme = if value.contains("://") { value.to_string() } else { format!("https://{value}") };
    with_scheme.trim_end_matches('/').to_string()
}

// ---------------------------------------------------------------------------------------
// The document

/// The key in `doc` that matches `key` case-insensitively: the exact spelling first,
/// else the first match in document order.
fn lookup_key(doc: &Mapping, key: &str) -> Option<Value> {
    let exact = Value::String(key.to_string());
    if doc.contains_key(&exact) {
        return Some(exact);
    }
    let wanted = key.to_lowercase();
    doc.keys().find(|k| matches!(k, Value::String(s) if s.to_lowercase() == wanted)).cloned()
}

fn lookup<'a>(doc: &'a Mapping, key: &str) -> Option<&'a Value> {
    lookup_key(doc, key).and_then(|k| doc.get(&k))
}

/// A scalar as a string (as Go's viper reads it); null, maps and lists are `None`.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Tagged(t) => scalar_string(&t.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

fn key_string(k: &Value) -> String {
    match scalar_string(k) {
        Some(s) => s,
        None => serde_yaml_ng::to_string(k).map(|s| s.trim_end().to_string()).unwrap_or_default(),
    }
}

/// YAML value → JSON value, keeping order; non-string keys become their text, a float
/// JSON cannot hold (NaN, infinity) becomes its YAML text.
fn yaml_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                J::from(u)
            } else if let Some(i) = n.as_i64() {
                J::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f).map(J::Number).unwrap_or_else(|| J::String(n.to_string()))
            }
        }
        Value::String(s) => J::String(s.clone()),
        Value::Sequence(items) => J::Array(items.iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => J::Object(m.iter().map(|(k, v)| (key_string(k), yaml_to_json(v))).collect()),
        Value::Tagged(t) => yaml_to_json(&t.value),
    }
}

/// JSON value → YAML value, keeping order and number kinds.
fn json_to_yaml(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else {
                Value::Number(n.as_f64().unwrap_or(f64::NAN).into())
            }
        }
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::Sequence(items.iter().map(json_to_yaml).collect()),
        J::Object(m) => Value::Mapping(m.iter().map(|(k, v)| (Value::String(k.clone()), json_to_yaml(v))).collect()),
    }
}

/// Overwrite every string in `v` (the private key is one of them) before it is freed.
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Sequence(items) => items.iter_mut().for_each(scrub),
        Value::Mapping(m) => m.values_mut().for_each(scrub),
        Value::Tagged(t) => scrub(&mut t.value),
        _ => {}
    }
}

/// [`scrub`] for JSON values (a credentials `.json`, a value given to `set`).
fn scrub_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(scrub_json),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// The private key and the static token never leave through the public API: the client
/// reads them crate-internally (`Config::private_key`, `Config::token`), every public
/// reader refuses them.
fn is_secret(key: &str) -> bool {
    key.eq_ignore_ascii_case("private_key") || key.eq_ignore_ascii_case("token")
}

/// Write `bytes` to `path` atomically: temp file in the same directory, fsync, rename,
/// fsync of the directory; mode 0600 (never wider than the file had), owner kept,
/// missing parents created 0700. On any error the temp file is removed and the target
/// is untouched.
///
/// Only where the user meant (Unix; config/write_checks.rs): a symlink at `path` is
/// followed (the file it points to is replaced) only when the link and that file
/// belong to the writing user or root; the directory the file is replaced in must not
/// be writable by anyone else unless it is sticky and the writer's own; the temp file
/// is created with `O_EXCL | O_NOFOLLOW`. Otherwise `ConfigNotWritable`, saying why.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, Writer::current(), Commit::Rename(|_| Ok(())))
}

/// How a write ends once its temporary file is written and synced.
enum Commit<F: FnOnce(&Path) -> std::io::Result<()>> {
    /// run the hook (tests make it fail), then rename over the target
    Rename(F),
    /// remove the temporary file: the write was only a check
    ProbeOnly,
}

/// A probe has no hook.
type NoHook = fn(&Path) -> std::io::Result<()>;

#[cfg(unix)]
use write_checks::Identity as Writer;

/// Who writes, where there are no owners to check.
#[cfg(not(unix))]
#[derive(Clone, Copy)]
struct Writer;
#[cfg(not(unix))]
impl Writer {
    fn current() -> Writer {
        Writer
    }
}

/// `write_atomic` as `who`, with a hook run just before the rename (tests make it fail).
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    who: Writer,
    commit: Commit<impl FnOnce(&Path) -> std::io::Result<()>>,
) -> Result<()> {
    let io_err = |what: &str, e: std::io::Error| {
        Error::new(Code::Io, format!("cannot write config {}: {what}: {e}", path.display())).with_path(path)
    };
    #[cfg(unix)]
    write_checks::check_link(path, who)?;
    #[cfg(not(unix))]
    let _ = who;
    // write through a (trusted) symlink to the file it names, as an in-place write would
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            // the link's own directory too: there another user could swap the link
            #[cfg(unix)]
            if let Some(link_dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                write_checks::check_directory(path, link_dir, who)?;
            }
            resolve_link(path).map_err(|e| io_err("resolve symlink", e))?
        }
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let Commit::ProbeOnly = commit {
        // a check leaves nothing behind: not even the directories it had to create
        let created = missing_dirs(&dir);
        let result = write_atomic_in(path, bytes, who, commit, &target, &dir);
        for d in created.iter() {
            let _ = std::fs::remove_dir(d);
        }
        return result;
    }
    write_atomic_in(path, bytes, who, commit, &target, &dir)
}

/// `dir` and those of its parents that do not exist, deepest first.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).map(Path::to_path_buf).collect()
}

/// The write itself, into `dir` (created when missing), replacing `target`.
fn write_atomic_in(
    path: &Path,
    bytes: &[u8],
    who: Writer,
    commit: Commit<impl FnOnce(&Path) -> std::io::Result<()>>,
    target: &Path,
    dir: &Path,
) -> Result<()> {
    use std::io::Write;

    let io_err = |what: &str, e: std::io::Error| {
        Error::new(Code::Io, format!("cannot write config {}: {what}: {e}", path.display())).with_path(path)
    };
    create_private_dirs(dir).map_err(|e| io_err(&format!("create directory {}", dir.display()), e))?;
    #[cfg(unix)]
    write_checks::check_directory(path, dir, who)?;
    #[cfg(not(unix))]
    let _ = who;

    let existing = match std::fs::metadata(target) {
        Ok(m) if m.is_dir() => {
            return Err(Error::new(Code::Io, format!("cannot write config {}: it is a directory", path.display()))
                .with_path(path))
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("stat", e)),
    };

    let (mut file, temp) = create_temp(dir, target).map_err(|e| io_err("create temporary file", e))?;
    let result = (|| {
        apply_owner_and_mode(&file, existing.as_ref()).map_err(|e| io_err("set owner and mode", e))?;
        file.write_all(bytes).map_err(|e| io_err("write", e))?;
        file.sync_all().map_err(|e| io_err("fsync", e))?;
        match commit {
            Commit::Rename(before_rename) => {
                before_rename(&temp).map_err(|e| io_err("before rename", e))?;
                std::fs::rename(&temp, target).map_err(|e| io_err("rename", e)).map(|()| true)
            }
            Commit::ProbeOnly => Ok(false),
        }
    })();
    drop(file);
    match result {
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        Ok(false) => {
            return std::fs::remove_file(&temp).map_err(|e| io_err("remove the test file", e));
        }
        Ok(true) => {}
    }
    // The rename is done and cannot be undone; a directory fsync failure (some file
    // systems refuse it) only weakens durability, so it is not reported.
    sync_dir(dir);
    remove_stale_temps(dir, target);
    Ok(())
}

/// Remove the temp files that writers killed mid-write left beside `target` (each a
/// full copy of a config, key included). A temp file names its writer's pid; only those
/// of processes that no longer exist are removed, never a live writer's.
#[cfg(unix)]
fn remove_stale_temps(dir: &Path, target: &Path) {
    let Some(base) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{base}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix).and_then(|rest| rest.split('-').next()) else { continue };
        let Ok(pid) = pid.parse::<libc::pid_t>() else { continue };
        if pid <= 0 || pid == std::process::id() as libc::pid_t {
            continue;
        }
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let gone =
            unsafe { libc::kill(pid, 0) } == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(not(unix))]
fn remove_stale_temps(_dir: &Path, _target: &Path) {}

/// Create `dir` and its missing parents with mode 0700 (existing ones are left alone).
fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Where a symlink at `path` leads: the canonical path of its target, or for a link
/// whose target does not exist yet, that target (relative to the link's directory).
fn resolve_link(path: &Path) -> std::io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let target = std::fs::read_link(path)?;
            Ok(match path.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            })
        }
        Err(e) => Err(e),
    }
}

/// A new file beside `target`, created exclusively (never an existing file or link).
fn create_temp(dir: &Path, target: &Path) -> std::io::Result<(std::fs::File, PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "config".into());
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut last_err = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{base}.tmp-{}-{n}-{nanos:x}", std::process::id()));
        #[cfg(unix)]
        let options = write_checks::exclusive_create();
        #[cfg(not(unix))]
        let options = {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            options
        };
        match options.open(&temp) {
            Ok(f) => return Ok((f, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free temporary file name")))
}

/// Mode 0600, never wider than the existing file's; the existing file's owner and group.
#[cfg(unix)]
fn apply_owner_and_mode(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut mode = 0o600;
    if let Some(old) = existing {
        mode &= old.mode();
        let mine = file.metadata()?;
        if mine.uid() != old.uid() || mine.gid() != old.gid() {
            if let Err(e) = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
                // Not root: we may own the file but not be in its group; the owner still
                // matches, so that is fine. Replacing someone else's file is not.
                let euid = unsafe { libc::geteuid() };
                let permitted = e.raw_os_error() == Some(libc::EPERM) && euid != 0 && old.uid() == euid;
                if !permitted {
                    return Err(e);
                }
            }
        }
    }
    // set explicitly: the umask may have narrowed the create mode differently
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn apply_owner_and_mode(_file: &std::fs::File, _existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    // best effort: the new file inherits the directory's ACLs
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert_eq!(env_var_name("api_endpoint"), "MONDOO_API_ENDPOINT");
        assert_eq!(env_var_name("scan_interval.timer"), "MONDOO_SCAN_INTERVAL_TIMER");
        assert_eq!(env_var_name("log-level"), "MONDOO_LOG_LEVEL");
    }

    #[test]
    fn endpoint_normalization() {
        assert_eq!(normalize_endpoint("api.example.com/"), "https://api.example.com");
        assert_eq!(normalize_endpoint("http://localhost:8080//"), "http://localhost:8080");
        assert_eq!(Config::parse("{}").unwrap().api_endpoint(), DEFAULT_API_ENDPOINT);
        assert_eq!(Config::parse("api_endpoint: ''").unwrap().api_endpoint(), DEFAULT_API_ENDPOINT);
    }

    #[test]
    fn yaml_round_trips_awkward_strings() {
        let mut c = Config::parse("a: 1\n").unwrap();
        let awkward = [
            "yes",
            "  lead",
            "trail  \nx",
            "a\n\nb\n\n",
            "tab\tx\n",
            "1.0",
            "0x10",
            ":x",
            "- a",
            "#c",
            "",
            "~",
            "null",
            "a: b",
            "line\r\nx",
            "x\n  y\n",
            "\ttabstart\nz",
            "-----BEGIN X-----\nAAA\n-----END X-----\n",
        ];
        for (i, s) in awkward.iter().enumerate() {
            c.set(&format!("k{i}"), serde_json::Value::String(s.to_string()));
        }
        let text = String::from_utf8(c.to_bytes().unwrap()).unwrap();
        let back = Config::parse(&text).unwrap();
        assert_eq!(back.doc, c.doc, "YAML written:\n{text}");
        assert!(text.contains("k17: |\n  -----BEGIN X-----\n"), "PEM must be a block literal:\n{text}");
    }

    #[test]
    fn json_round_trips_numbers_and_order() {
        let text = r#"{"z": 1, "a": -2, "m": 1.5, "n": null, "l": [true, "x"], "o": {"b": 1, "a": 2}}"#;
        let c = Config::parse(text).unwrap();
        assert_eq!(c.format(), ConfigFormat::Json);
        let out = String::from_utf8(c.to_bytes().unwrap()).unwrap();
        assert!(out.ends_with("}\n"));
        assert!(out.starts_with("{\n  \"z\": 1,\n  \"a\": -2,"), "{out}");
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(a, b);
        let keys: Vec<_> = b.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m", "n", "l", "o"]);
    }

    #[test]
    fn remove_keeps_order_and_all_spellings_go() {
        // A parsed document never holds both spellings (refused as a duplicate key); one
        // built in memory may, and remove takes every one.
        let mut c = Config::parse("{}").unwrap();
        for (k, v) in [("a", "1"), ("MRN", "x"), ("b", "2"), ("mrn", "y"), ("c", "3")] {
            c.doc.insert(Value::from(k), Value::from(v));
        }
        c.remove("mrn");
        let keys: Vec<String> = c.doc.keys().map(key_string).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn set_keeps_spelling_and_new_keys_are_lower_case() {
        let mut c = Config::parse("Agent_MRN: old\n").unwrap();
        c.set("agent_mrn", "new".into());
        c.set("NEW_Key", "v".into());
        let text = String::from_utf8(c.to_bytes().unwrap()).unwrap();
        assert_eq!(text, "Agent_MRN: new\nnew_key: v\n");
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let e = Config::parse("a: b\n c: d: e\n").unwrap_err();
        assert_eq!(e.code(), Code::ConfigParse);
        assert!(e.message().starts_with("config:2:3: invalid YAML: "), "{}", e.message());
        let e = Config::parse("{\n  \"a\": [1,\n}").unwrap_err();
        assert!(e.message().starts_with("config:3:1: invalid JSON: "), "{}", e.message());
        // a trailing comma is not JSON but is a YAML flow mapping: read as YAML
        assert_eq!(Config::parse("{\n  \"a\": 1,\n}").unwrap().format(), ConfigFormat::Yaml);
        for not_map in ["- 1\n", "just text", "[1]", "42"] {
            let e = Config::parse(not_map).unwrap_err();
            assert_eq!(e.code(), Code::ConfigParse, "{not_map}");
            assert!(e.message().contains("must be a mapping"), "{}", e.message());
        }
    }

    #[test]
    fn empty_and_comment_only_documents_are_empty_configs() {
        for text in ["", "# nothing\n", "\u{feff}"] {
            let c = Config::parse(text).unwrap();
            assert!(!c.is_registered());
            assert_eq!(c.to_bytes().unwrap(), b"");
        }
    }

    #[test]
    fn yaml_flow_mapping_is_yaml() {
        let c = Config::parse("{mrn: x, private_key: y}").unwrap();
        assert_eq!(c.format(), ConfigFormat::Yaml);
        assert_eq!(c.service_account_mrn().as_deref(), Some("x"));
    }

    #[test]
    fn env_overrides_apply_to_known_and_present_keys_only() {
        let env: BTreeMap<String, String> = [
            ("MONDOO_API_ENDPOINT", "env.example.com/"),
            ("MONDOO_UPDATES_URL", "https://env-updates"),
            ("MONDOO_UNRELATED", "x"),
            ("MONDOO_NAME", ""),
            ("MONDOO_SCAN_INTERVAL_TIMER", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = Config::parse("updates_url: https://file\nname: file-name\nscan_interval.timer: 60\n")
            .unwrap()
            .with_env(&env);
        assert_eq!(c.api_endpoint(), "https://env.example.com");
        assert_eq!(c.get("updates_url").as_deref(), Some("https://env-updates"));
        assert_eq!(c.get("unrelated"), None, "not known and not in the file");
        assert_eq!(c.name().as_deref(), Some("file-name"), "empty env value does not override");
        assert_eq!(c.get("scan_interval.timer").as_deref(), Some("5"));
        assert_eq!(c.file_value("updates_url").as_deref(), Some("https://file"));
    }

    #[test]
    fn failed_write_removes_temp_and_leaves_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("mondoo.yml");
        std::fs::write(&target, "old: 1\n").unwrap();
        let mut seen = None;
        let err = write_atomic_with(
            &target,
            b"new: 2\n",
            Writer::current(),
            Commit::Rename(|temp: &Path| {
                assert!(temp.exists());
                assert_eq!(std::fs::read(temp).unwrap(), b"new: 2\n");
                seen = Some(temp.to_path_buf());
                Err(std::io::Error::other("injected"))
            }),
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::Io);
        assert!(err.message().contains("injected"));
        assert!(!seen.unwrap().exists(), "temp file left behind");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old: 1\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn check_writable_writes_a_test_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("mondoo.yml");
        let config = Config::empty_at(target.clone(), ConfigSource::Explicit);
        config.check_writable(4096).unwrap();
        assert!(!target.exists(), "the check wrote the config");
        assert!(!dir.path().join("sub").exists(), "the check left the directory it created");
        // a directory that is a file's path cannot hold the config
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let config = Config::empty_at(blocker.join("mondoo.yml"), ConfigSource::Explicit);
        assert!(config.check_writable(4096).is_err());
    }

    #[test]
    fn write_through_symlink_keeps_the_link() {
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            let real = dir.path().join("real.yml");
            let link = dir.path().join("link.yml");
            std::fs::write(&real, "a: 1\n").unwrap();
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write_atomic(&link, b"a: 2\n").unwrap();
            assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
            assert_eq!(std::fs::read_to_string(&real).unwrap(), "a: 2\n");
        }
    }

    #[test]
    fn drop_scrubs_strings() {
        let mut v = Value::Mapping([(Value::from("private_key"), Value::from("SECRET"))].into_iter().collect());
        scrub(&mut v);
        let Value::Mapping(m) = &v else { panic!() };
        assert_eq!(m.get("private_key"), Some(&Value::from("")));
    }
}
