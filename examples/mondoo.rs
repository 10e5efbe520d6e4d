//! `mondoo`: a small CLI over libmondoo, doing what `cnspec login/status/logout` do.
//!
//! ```text
//! cargo run --example mondoo -- config show [--config F] [--json]
//! cargo run --example mondoo -- token inspect [TOKEN | --token-file F | -]
//! cargo run --example mondoo -- sign --config F --body FILE|-
//! cargo run --example mondoo -- login [--token T | --token-file F | -] [--name N] [--annotation k=v]...
//!                                     [--save-credentials-on-failure PATH]
//! cargo run --example mondoo -- status [--json]
//! cargo run --example mondoo -- logout --force [--keep-service-account] [--offline]
//! cargo run --example mondoo -- checkin
//! cargo run --example mondoo -- call SERVICE METHOD [JSON | -]
//! ```
//! Common flags: --config F, --api-endpoint URL, --api-proxy URL, --ca-file F, --timeout SECONDS.
//! Exit codes: 0 ok, 1 not registered / not authenticated / any other failure,
//! 78 configuration error. Errors go to stderr as one line.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use mondoo::config::redact_for_display;
use mondoo::flows::{config_for_registration, Client, ClientOptions, LogoutOptions, RegisterOptions};
use mondoo::{Config, Error, ErrorClass, LoadOptions, RegistrationToken, Signer};

const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 78;

/// Parsed command line: positional words and `--flag value` / `--switch` options.
struct Args {
    words: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

const SWITCHES: &[&str] = &["--json", "--force", "--keep-service-account", "--offline"];

impl Args {
    fn parse(raw: Vec<String>) -> Result<Args, String> {
        let mut words = Vec::new();
        let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut it = raw.into_iter();
        while let Some(arg) = it.next() {
            if arg.starts_with("--") && arg.len() > 2 {
                let (name, inline) = match arg.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (arg.clone(), None),
                };
                let value = if SWITCHES.contains(&name.as_str()) {
                    String::new()
                } else {
                    match inline.or_else(|| it.next()) {
                        Some(v) => v,
                        None => return Err(format!("{name} needs a value")),
                    }
                };
                flags.entry(name).or_default().push(value);
            } else {
                words.push(arg);
            }
        }
        Ok(Args { words, flags })
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(|v| v.last()).map(String::as_str)
    }
    fn has(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.flags.get(name).cloned().unwrap_or_default()
    }
}

enum Failure {
    Usage(String),
    Lib(Error),
    /// already reported (status printed its own verdict)
    Exit(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Lib(e)
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => return usage_error(&e),
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => usage_error(&msg),
        Err(Failure::Exit(code)) => ExitCode::from(code),
        Err(Failure::Lib(e)) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::from(exit_code_for(&e))
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg} (commands: config show, token inspect, sign, login, status, logout, checkin, call)");
    ExitCode::from(EXIT_FAILURE)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A bad or unreadable config, or a bad key in it, is a configuration error (78).
fn exit_code_for(e: &Error) -> u8 {
    match e.class() {
        ErrorClass::Config | ErrorClass::Key => EXIT_CONFIG,
        _ => EXIT_FAILURE,
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["config", "show"] => config_show(args),
        ["token", "inspect", rest @ ..] => token_inspect(args, rest.first().copied()),
        ["sign"] => sign(args),
        ["login", rest @ ..] => login(args, rest.first().copied()),
        ["status"] => status(args),
        ["logout"] => logout(args),
        ["checkin"] => {
            client(args, load_config(args)?)?.checkin()?;
            println!("check-in accepted");
            Ok(())
        }
        ["call", service, method, rest @ ..] => call(args, service, method, rest.first().copied()),
        [] => Err(Failure::Usage("no command given".into())),
        other => Err(Failure::Usage(format!("unknown command {:?}", other.join(" ")))),
    }
}

fn load_options(args: &Args) -> LoadOptions {
    LoadOptions { path: args.get("--config").map(PathBuf::from), ..Default::default() }
}

fn load_config(args: &Args) -> Result<Config, Failure> {
    Ok(Config::load_with(&load_options(args))?)
}

fn client(args: &Args, config: Config) -> Result<Client, Failure> {
    let mut options = ClientOptions {
        api_endpoint: args.get("--api-endpoint").map(String::from),
        api_proxy: args.get("--api-proxy").map(String::from),
        ca_file: args.get("--ca-file").map(PathBuf::from),
        ..ClientOptions::default()
    };
    if let Some(t) = args.get("--timeout") {
        let secs: f64 = t.parse().map_err(|_| Failure::Usage(format!("--timeout {t:?} is not a number of seconds")))?;
        options.timeout = Duration::from_secs_f64(secs);
    }
    Ok(Client::new(config, options)?)
}

/// Read a file, or stdin for `-`.
fn read_input(path: &str) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut buf).map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
    } else {
        buf = std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))?;
    }
    Ok(buf)
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn config_show(args: &Args) -> Result<(), Failure> {
    let config = load_config(args)?;
    if args.has("--json") {
        print_json(&serde_json::json!({
            "source": config.source().as_str(),
            "path": config.path().map(|p| p.display().to_string()),
            "registered": config.is_registered(),
            "config": config.redacted_json(),
        }));
    } else {
        // every value shown as the library redacts it: URL passwords, keys or tokens
        // pasted into the wrong field
        let shown = |v: Option<String>| v.map(|v| redact_for_display(&v)).unwrap_or_default();
        let path = config.path().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into());
        println!("source:       {}", config.source().as_str());
        println!("path:         {path}");
        println!("registered:   {}", config.is_registered());
        println!("api_endpoint: {}", shown(Some(config.api_endpoint())));
        println!("api_proxy:    {}", shown(config.api_proxy()));
        println!("scope:        {}", shown(config.scope_mrn()));
        println!("mrn:          {}", shown(config.mrn()));
        println!("agent_mrn:    {}", shown(config.agent_mrn()));
    }
    Ok(())
}

/// The token from an argument, `--token`, `--token-file`, `-` (stdin) or
/// `MONDOO_REGISTRATION_TOKEN`, so it need not appear in `ps` or shell history.
fn token_from(args: &Args, positional: Option<&str>) -> Result<Option<String>, Failure> {
    let raw = if let Some(file) = args.get("--token-file") {
        Some(read_input(file)?)
    } else if let Some(t) = args.get("--token") {
        Some(if t == "-" { read_input("-")? } else { t.as_bytes().to_vec() })
    } else if let Some(p) = positional {
        Some(if p == "-" { read_input("-")? } else { p.as_bytes().to_vec() })
    } else {
        std::env::var("MONDOO_REGISTRATION_TOKEN").ok().filter(|t| !t.trim().is_empty()).map(String::into_bytes)
    };
    raw.map(|bytes| String::from_utf8(bytes).map_err(|_| Failure::Usage("the token is not UTF-8 text".into())))
        .transpose()
}

fn token_inspect(args: &Args, positional: Option<&str>) -> Result<(), Failure> {
    let token = token_from(args, positional)?.ok_or_else(|| Failure::Usage("no token given".into()))?;
    let inspected = RegistrationToken::inspect(&token, args.get("--api-endpoint"))?;
    for w in inspected.warnings() {
        eprintln!("warning: {w}");
    }
    print_json(&inspected.to_json());
    Ok(())
}

fn sign(args: &Args) -> Result<(), Failure> {
    let body_path =
        args.get("--body").ok_or_else(|| Failure::Usage("sign needs --body FILE (or - for stdin)".into()))?;
    let config = load_config(args)?;
    let body = read_input(body_path)?;
    let signer = Signer::from_config(&config)?;
    println!("{}", signer.sign(&body)?);
    Ok(())
}

fn login(args: &Args, positional: Option<&str>) -> Result<(), Failure> {
    let token = token_from(args, positional)?;
    let config = config_for_registration(&load_options(args))?;
    let mut annotations = BTreeMap::new();
    for a in args.all("--annotation") {
        let (k, v) = a.split_once('=').ok_or_else(|| Failure::Usage(format!("--annotation {a:?} is not key=value")))?;
        annotations.insert(k.to_string(), v.to_string());
    }
    let options = RegisterOptions { name: args.get("--name").map(String::from), annotations };
    let registration = client(args, config)?.register(token.as_deref(), &options).map_err(|e| {
        match (e.orphaned_credentials(), args.get("--save-credentials-on-failure")) {
            (Some(credentials), Some(path)) => save_orphaned_credentials(&credentials, path, e),
            _ => e,
        }
    })?;
    if registration.already_registered {
        println!("client is already registered as {}", registration.agent_mrn);
    } else {
        println!("client {} has been registered", registration.agent_mrn);
    }
    if let Some(p) = &registration.config_path {
        println!("configuration written to {}", p.display());
    }
    println!("client authenticated successfully");
    Ok(())
}

/// An agent was registered but its config could not be written: its credentials go to
/// `path`, a new file (never an existing one or a link) readable by its owner only.
fn save_orphaned_credentials(credentials: &str, path: &str, e: Error) -> Error {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let saved = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(credentials.as_bytes()).and_then(|()| f.sync_all()));
    match saved {
        Ok(()) => e.context(format!("the agent's credentials were saved to {path} (use it as --config)")),
        Err(save) => e.context(format!("saving the agent's credentials to {path} failed too: {save}")),
    }
}

fn status(args: &Args) -> Result<(), Failure> {
    let report = client(args, load_config(args)?)?.status()?;
    if args.has("--json") {
        print_json(&report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    match report.exit_code() {
        0 => Ok(()),
        code => Err(Failure::Exit(code as u8)),
    }
}

fn logout(args: &Args) -> Result<(), Failure> {
    if !args.has("--force") {
        return Err(Failure::Usage(
            "logout unregisters this client and removes its credentials: confirm with --force".into(),
        ));
    }
    let options = LogoutOptions {
        keep_service_account: args.has("--keep-service-account"),
        force_offline: args.has("--offline"),
    };
    let client = client(args, load_config(args)?)?;
    client.logout(&options)?;
    println!("client has been unregistered; credentials removed from the config");
    Ok(())
}

fn call(args: &Args, service: &str, method: &str, input: Option<&str>) -> Result<(), Failure> {
    let text = match input {
        Some("-") => String::from_utf8(read_input("-")?).map_err(|_| Failure::Usage("stdin is not UTF-8".into()))?,
        Some(json) => json.to_string(),
        None => "{}".to_string(),
    };
    let payload: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("the payload is not JSON: {e}")))?;
    let answer = client(args, load_config(args)?)?.call(service, method, &payload)?;
    print_json(&answer);
    Ok(())
}
