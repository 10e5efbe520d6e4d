//! `mondoo`: a small CLI over libmondoo, doing what `cnspec login/status/logout` do.
//!
//! ```text
//! cargo run --example mondoo -- help [COMMAND]          (or COMMAND --help, -h)
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
//! 64 usage error (EX_USAGE), 78 configuration error (EX_CONFIG). Errors go to stderr as
//! one line.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use mondoo::blocking::Client;
use mondoo::{redact_for_display, Config, Error, ErrorClass, LoadOptions, RegistrationToken, Signer};
use mondoo::{ClientOptions, LogoutOptions, RegisterOptions};

const EXIT_FAILURE: u8 = 1;
/// sysexits.h: the command was used incorrectly.
const EXIT_USAGE: u8 = 64;
/// sysexits.h: something was found in an unconfigured or misconfigured state.
const EXIT_CONFIG: u8 = 78;

/// Options that take a value (`--name VALUE` or `--name=VALUE`).
const VALUE_FLAGS: &[&str] = &[
    "--config",
    "--api-endpoint",
    "--api-proxy",
    "--ca-file",
    "--timeout",
    "--token",
    "--token-file",
    "--name",
    "--annotation",
    "--body",
    "--save-credentials-on-failure",
    "--variables",
    "--paginate",
    "--page-limit",
];
/// Options that take none.
const SWITCHES: &[&str] = &["--json", "--force", "--keep-service-account", "--offline", "--help"];
/// The options every command that talks to the platform or reads the config accepts.
const COMMON_FLAGS: &[&str] = &["--config", "--api-endpoint", "--api-proxy", "--ca-file", "--timeout"];

/// One command: its words, what it takes, and its help text.
struct Command {
    words: &'static [&'static str],
    /// the arguments after the command's words, as the usage line shows them
    synopsis: &'static str,
    summary: &'static str,
    /// the options of this command beyond COMMON_FLAGS, with their help lines
    options: &'static [(&'static str, &'static str)],
    /// how many positional arguments may follow the words
    positionals: std::ops::RangeInclusive<usize>,
    details: &'static str,
}

const COMMANDS: &[Command] = &[
    Command {
        words: &["config", "show"],
        synopsis: "[--json]",
        summary: "show the config in use and where it came from (private key redacted)",
        options: &[("--json", "print the source, path and whole config as JSON")],
        positionals: 0..=0,
        details: "Without --config the search is cnspec's: $MONDOO_CONFIG_BASE64, $MONDOO_CONFIG_PATH,\n\
                  ~/.config/mondoo/mondoo.yml, then the system file. A --config path must exist.",
    },
    Command {
        words: &["token", "inspect"],
        synopsis: "[TOKEN | - | --token-file FILE]",
        summary: "check a registration token offline and print its claims as JSON",
        options: &[
            ("--token-file FILE", "read the token from FILE (- for stdin)"),
            ("--token TOKEN", "the token itself (- for stdin)"),
        ],
        positionals: 0..=1,
        details: "TOKEN is the token text, not a file: use --token-file for a file. Without any, the\n\
                  token comes from $MONDOO_REGISTRATION_TOKEN. No request is made.",
    },
    Command {
        words: &["sign"],
        synopsis: "--body FILE|-",
        summary: "sign a request body as the config's service account; prints the bearer alone",
        options: &[("--body FILE", "the exact body bytes to sign (- for stdin)")],
        positionals: 0..=0,
        details: "",
    },
    Command {
        words: &["login"],
        synopsis: "[TOKEN | - | --token T | --token-file F] [--name N] [--annotation K=V]... [--save-credentials-on-failure PATH]",
        summary: "register this machine with a registration token and write the config",
        options: &[
            ("--token-file FILE", "read the token from FILE (- for stdin)"),
            ("--token TOKEN", "the token itself (- for stdin)"),
            ("--name NAME", "the asset name (default: the host name)"),
            ("--annotation K=V", "an annotation of the agent (repeatable)"),
            (
                "--save-credentials-on-failure PATH",
                "if the config cannot be written after registering, save the new credentials to PATH (a new 0600 file)",
            ),
        ],
        positionals: 0..=1,
        details: "The token may also come from $MONDOO_REGISTRATION_TOKEN, so it need not appear in ps\n\
                  or the shell history. Without a token the config's service account registers.\n\
                  A --config path that does not exist is created.",
    },
    Command {
        words: &["status"],
        synopsis: "[--json]",
        summary: "show whether this client is registered and authenticated (exit 0 only if both)",
        options: &[("--json", "print the report as JSON")],
        positionals: 0..=0,
        details: "",
    },
    Command {
        words: &["logout"],
        synopsis: "--force [--keep-service-account] [--offline]",
        summary: "unregister this client and remove its credentials from the config",
        options: &[
            ("--force", "confirm (required)"),
            ("--keep-service-account", "remove only agent_mrn, keep the service account"),
            ("--offline", "rewrite the config even when the platform cannot be reached or refuses"),
        ],
        positionals: 0..=0,
        details: "",
    },
    Command {
        words: &["checkin"],
        synopsis: "",
        summary: "send the agent check-in (AgentManager/HealthCheck)",
        options: &[],
        positionals: 0..=0,
        details: "",
    },
    Command {
        words: &["call"],
        synopsis: "SERVICE METHOD [JSON | -]",
        summary: "make a signed call to any platform service and print the JSON answer",
        options: &[],
        positionals: 2..=3,
        details: "POST {api_endpoint}/SERVICE/METHOD with JSON as the body ({} when absent; - for stdin).",
    },
    Command {
        words: &["graphql"],
        synopsis: "QUERY",
        summary: "run a Platform API (GraphQL) query and print the answer",
        options: &[
            ("--variables JSON", "the query's variables (a JSON object)"),
            ("--paginate PATH", "follow the Relay connection at PATH (e.g. space.assets); print each page"),
            ("--page-limit N", "with --paginate: fail past N pages (default 100)"),
        ],
        positionals: 1..=1,
        details: "POST {api_endpoint}/query as the service account (MONDOO_API_TOKEN when set). Exit code 1 \
                  when the answer has errors (the answer is printed first).",
    },
];

const COMMON_HELP: &str = "\
Options of every command:
  --config FILE        the config file (login creates it; others need it to exist)
  --api-endpoint URL   the API endpoint instead of the config's
  --api-proxy URL      send requests through this proxy
  --ca-file FILE       trust the CA certificates in this PEM file too
  --timeout SECONDS    bound every request (default 30)
  -h, --help           show help";

const EXIT_HELP: &str = "\
Exit codes: 0 ok; 1 not registered, not authenticated or any other failure;
64 usage error; 78 configuration error (unreadable or unparsable config, bad key).";

impl Command {
    fn name(&self) -> String {
        self.words.join(" ")
    }

    /// The command named by `words` (its own words, or their first alone: `help token`).
    fn find(words: &[&str]) -> Option<&'static Command> {
        COMMANDS
            .iter()
            .find(|c| words.starts_with(c.words))
            .or_else(|| COMMANDS.iter().find(|c| words.len() == 1 && c.words[0] == words[0]))
    }

    fn help(&self) -> String {
        let mut out = format!("Usage: mondoo {} {}\n\n{}.\n", self.name(), self.synopsis, capitalized(self.summary));
        if !self.details.is_empty() {
            out.push('\n');
            out.push_str(self.details);
            out.push('\n');
        }
        if !self.options.is_empty() {
            out.push_str("\nOptions:\n");
            for (flag, what) in self.options {
                out.push_str(&format!("  {flag:<20} {what}\n"));
            }
        }
        out.push('\n');
        out.push_str(COMMON_HELP);
        out.push_str("\n\n");
        out.push_str(EXIT_HELP);
        out.push('\n');
        out
    }

    /// Refuse options this command does not take and a wrong number of arguments.
    fn check(&'static self, args: &Args) -> Result<(), Failure> {
        for flag in args.flags.keys() {
            let own = self.options.iter().any(|(f, _)| f.split(' ').next() == Some(flag.as_str()));
            if !own && !COMMON_FLAGS.contains(&flag.as_str()) && flag != "--help" {
                return Err(self.usage(format!("{} takes no option {flag}", self.name())));
            }
        }
        let given = args.words.len() - self.words.len();
        if !self.positionals.contains(&given) {
            let want = match (self.positionals.start(), self.positionals.end()) {
                (0, 0) => "no arguments".to_string(),
                (a, b) if a == b => format!("{a} arguments"),
                (a, b) => format!("{a} to {b} arguments"),
            };
            // (the arguments themselves are not echoed: one of them may be a token)
            return Err(self.usage(format!("{} takes {want}, got {given}", self.name())));
        }
        Ok(())
    }

    fn usage(&'static self, message: impl Into<String>) -> Failure {
        Failure::Usage { message: message.into(), command: Some(self) }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn general_help() -> String {
    let mut out = String::from(
        "mondoo: a small CLI over libmondoo, doing what `cnspec login/status/logout` do.\n\n\
         Usage: mondoo COMMAND [ARGUMENTS] [OPTIONS]\n\nCommands:\n",
    );
    for c in COMMANDS {
        out.push_str(&format!("  {:<15} {}\n", c.name(), c.summary));
    }
    out.push_str(&format!("  {:<15} {}\n\n", "help [COMMAND]", "show this help, or a command's"));
    out.push_str(COMMON_HELP);
    out.push_str("\n\n");
    out.push_str(EXIT_HELP);
    out.push('\n');
    out
}

/// Parsed command line: positional words and `--flag value` / `--switch` options.
struct Args {
    words: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

impl Args {
    fn parse(raw: Vec<String>) -> Result<Args, String> {
        let mut words = Vec::new();
        let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut it = raw.into_iter();
        while let Some(arg) = it.next() {
            if arg == "-h" {
                flags.entry("--help".into()).or_default().push(String::new());
            } else if arg.starts_with("--") && arg.len() > 2 {
                let (name, inline) = match arg.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (arg.clone(), None),
                };
                let value = if SWITCHES.contains(&name.as_str()) {
                    if inline.is_some() {
                        return Err(format!("{name} takes no value"));
                    }
                    String::new()
                } else if VALUE_FLAGS.contains(&name.as_str()) {
                    match inline.or_else(|| it.next()) {
                        Some(v) => v,
                        None => return Err(format!("{name} needs a value")),
                    }
                } else {
                    return Err(format!("unknown option {name}"));
                };
                flags.entry(name).or_default().push(value);
            } else if arg.starts_with('-') && arg != "-" {
                return Err(format!("unknown option {arg}"));
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
    /// The command line is wrong: one line on stderr, exit 64.
    Usage {
        message: String,
        command: Option<&'static Command>,
    },
    /// A failure that is not the library's (a file that cannot be read): exit 1.
    Other(String),
    Lib(Error),
    /// already reported (status printed its own verdict)
    Exit(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Lib(e)
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage { message: message.into(), command: None }
}

fn main() -> ExitCode {
    let result = Args::parse(std::env::args().skip(1).collect()).map_err(usage).and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage { message, command }) => {
            let see = command.map(|c| format!("mondoo help {}", c.name())).unwrap_or_else(|| "mondoo help".into());
            eprintln!("error: {} (see `{see}`)", one_line(&message));
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Other(message)) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::from(EXIT_FAILURE)
        }
        Err(Failure::Exit(code)) => ExitCode::from(code),
        Err(Failure::Lib(e)) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::from(exit_code_for(&e))
        }
    }
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
    // `help [COMMAND]`, `--help` and `-h` (anywhere) print help on stdout and exit 0.
    let help_for = match words.as_slice() {
        ["help", rest @ ..] => Some(rest),
        rest if args.has("--help") => Some(rest),
        _ => None,
    };
    if let Some(rest) = help_for {
        if rest.is_empty() {
            print!("{}", general_help());
            return Ok(());
        }
        let command = Command::find(rest).ok_or_else(|| usage(format!("no command {:?}", rest.join(" "))))?;
        print!("{}", command.help());
        return Ok(());
    }
    let command = match Command::find(&words) {
        _ if words.is_empty() => return Err(usage("no command given")),
        Some(c) if words.starts_with(c.words) => c,
        Some(c) => return Err(c.usage(format!("did you mean `mondoo {}`?", c.name()))),
        // A long first word may be a token pasted in the wrong place: not echoed.
        None if words[0].len() <= 32 => return Err(usage(format!("unknown command {:?}", words[0]))),
        None => return Err(usage("unknown command")),
    };
    command.check(args)?;
    let rest = &words[command.words.len()..];
    match (command.name().as_str(), rest) {
        ("config show", _) => config_show(args),
        ("token inspect", rest) => token_inspect(args, command, rest.first().copied()),
        ("sign", _) => sign(args, command),
        ("login", rest) => login(args, command, rest.first().copied()),
        ("status", _) => status(args),
        ("logout", _) => logout(args, command),
        ("checkin", _) => {
            client(args, load_config(args)?)?.checkin()?;
            println!("check-in accepted");
            Ok(())
        }
        ("call", [service, method, rest @ ..]) => call(args, service, method, rest.first().copied()),
        ("graphql", [query]) => graphql(args, command, query),
        _ => Err(command.usage(format!("{} takes other arguments", command.name()))),
    }
}

fn load_options(args: &Args) -> LoadOptions {
    let mut options = LoadOptions::new();
    options.path = args.get("--config").map(PathBuf::from);
    options
}

fn load_config(args: &Args) -> Result<Config, Failure> {
    Ok(Config::load_with(&load_options(args))?)
}

fn client(args: &Args, config: Config) -> Result<Client, Failure> {
    let mut options = ClientOptions::new();
    options.api_endpoint = args.get("--api-endpoint").map(String::from);
    options.api_proxy = args.get("--api-proxy").map(String::from);
    options.ca_file = args.get("--ca-file").map(PathBuf::from);
    if let Some(t) = args.get("--timeout") {
        let secs = t
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| usage(format!("--timeout {t:?} is not a number of seconds above 0")))?;
        options.timeout = Duration::from_secs_f64(secs);
    }
    Ok(Client::new(config, options)?)
}

/// Read a file, or stdin for `-`.
fn read_input(path: &str) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut buf).map_err(|e| Failure::Other(format!("cannot read stdin: {e}")))?;
    } else {
        buf = std::fs::read(path).map_err(|e| Failure::Other(format!("cannot read {path}: {e}")))?;
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
        println!("source:              {}", config.source().as_str());
        println!("path:                {path}");
        println!("registered:          {}", config.is_registered());
        println!("api_endpoint:        {}", shown(Some(config.api_endpoint())));
        println!("api_proxy:           {}", shown(config.api_proxy()));
        println!("space_mrn:           {}", shown(config.space_mrn()));
        println!("service_account_mrn: {}", shown(config.service_account_mrn()));
        println!("agent_mrn:           {}", shown(config.agent_mrn()));
    }
    Ok(())
}

/// The token from an argument, `--token`, `--token-file`, `-` (stdin) or
/// `MONDOO_REGISTRATION_TOKEN`, so it need not appear in `ps` or shell history.
fn token_from(args: &Args, command: &'static Command, positional: Option<&str>) -> Result<Option<String>, Failure> {
    let raw = if let Some(file) = args.get("--token-file") {
        Some(read_input(file)?)
    } else if let Some(t) = args.get("--token") {
        Some(if t == "-" { read_input("-")? } else { t.as_bytes().to_vec() })
    } else if let Some(p) = positional {
        if p != "-" {
            refuse_path_as_token(command, p)?;
        }
        Some(if p == "-" { read_input("-")? } else { p.as_bytes().to_vec() })
    } else {
        std::env::var("MONDOO_REGISTRATION_TOKEN").ok().filter(|t| !t.trim().is_empty()).map(String::into_bytes)
    };
    raw.map(|bytes| String::from_utf8(bytes).map_err(|_| Failure::Other("the token is not UTF-8 text".into())))
        .transpose()
}

/// A token argument that is a file's path (`token inspect ./token.jwt`) is a usage error
/// that points at `--token-file`, rather than "malformed token". A token never contains
/// `/` (base64url has none), so a `/` alone tells; the argument is named only when it is an
/// existing file, so a mistyped token is never echoed.
fn refuse_path_as_token(command: &'static Command, arg: &str) -> Result<(), Failure> {
    if Path::new(arg).is_file() {
        return Err(
            command.usage(format!("{arg:?} is a file, not a token: read a token from a file with --token-file {arg}"))
        );
    }
    if arg.contains('/') || arg.contains('\\') {
        return Err(command.usage(
            "the TOKEN argument looks like a file path, not a token: read a token from a file with \
             --token-file FILE",
        ));
    }
    Ok(())
}

fn token_inspect(args: &Args, command: &'static Command, positional: Option<&str>) -> Result<(), Failure> {
    let token = token_from(args, command, positional)?
        .ok_or_else(|| command.usage("no token given (TOKEN, -, --token-file FILE or $MONDOO_REGISTRATION_TOKEN)"))?;
    let inspected = RegistrationToken::inspect(&token, args.get("--api-endpoint"))?;
    for w in inspected.warnings() {
        eprintln!("warning: {w}");
    }
    print_json(&inspected.to_json());
    Ok(())
}

fn sign(args: &Args, command: &'static Command) -> Result<(), Failure> {
    let body_path = args.get("--body").ok_or_else(|| command.usage("sign needs --body FILE (or - for stdin)"))?;
    let config = load_config(args)?;
    let body = read_input(body_path)?;
    if config.needs_exchange() {
        // keyless: the bearer is the exchanged service account's (one exchange, in memory)
        println!("{}", client(args, config)?.sign(&body)?);
        return Ok(());
    }
    let signer = Signer::from_config(&config)?;
    println!("{}", signer.sign(&body)?);
    Ok(())
}

fn login(args: &Args, command: &'static Command, positional: Option<&str>) -> Result<(), Failure> {
    let mut annotations = BTreeMap::new();
    for a in args.all("--annotation") {
        let (k, v) = a.split_once('=').ok_or_else(|| command.usage(format!("--annotation {a:?} is not K=V")))?;
        annotations.insert(k.to_string(), v.to_string());
    }
    let token = token_from(args, command, positional)?;
    let config = Config::for_registration(&load_options(args))?;
    let mut options = RegisterOptions::new().with_annotations(annotations);
    options.name = args.get("--name").map(String::from);
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

fn logout(args: &Args, command: &'static Command) -> Result<(), Failure> {
    if !args.has("--force") {
        return Err(command.usage("logout unregisters this client and removes its credentials: confirm with --force"));
    }
    let options = LogoutOptions::new()
        .with_keep_service_account(args.has("--keep-service-account"))
        .with_force_offline(args.has("--offline"));
    let client = client(args, load_config(args)?)?;
    client.logout(&options)?;
    println!("client has been unregistered; credentials removed from the config");
    Ok(())
}

fn graphql(args: &Args, command: &'static Command, query: &str) -> Result<(), Failure> {
    let variables = match args.get("--variables") {
        Some(text) => Some(
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| command.usage(format!("--variables is not JSON: {e}")))?,
        ),
        None => None,
    };
    let client = client(args, load_config(args)?)?;
    if let Some(path) = args.get("--paginate") {
        let limit = match args.get("--page-limit") {
            Some(n) => n.parse::<usize>().map_err(|_| command.usage(format!("--page-limit {n:?} is not a count")))?,
            None => 100,
        };
        for page in client.graphql_pages(query, variables, path, limit)? {
            print_json(&page?);
        }
        return Ok(());
    }
    let answer = client.graphql(query, variables)?;
    print_json(&answer.to_json());
    answer.into_data()?;
    Ok(())
}

fn call(args: &Args, service: &str, method: &str, input: Option<&str>) -> Result<(), Failure> {
    let text = match input {
        Some("-") => String::from_utf8(read_input("-")?).map_err(|_| Failure::Other("stdin is not UTF-8".into()))?,
        Some(json) => json.to_string(),
        None => "{}".to_string(),
    };
    let payload: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("the payload is not JSON: {e}")))?;
    let answer = client(args, load_config(args)?)?.call(service, method, &payload)?;
    print_json(&answer);
    Ok(())
}
