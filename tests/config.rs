//! Config loading, precedence, env overrides and safe rewriting (protocol 1.1, 1.2, 1.5),
//! against the repository's fixtures (`testdata/`). Every test uses its own temporary HOME and an injected
//! environment, never the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mondoo::__private::config::write_atomic;
use mondoo::Code;
use mondoo::{AuthMethod, Config, ConfigFormat, ConfigSource, LoadOptions};
use serde_yaml_ng::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(rel)
}

fn read_fixture(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A sandbox: its own HOME and a system path that does not exist unless written.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn home_config(&self) -> PathBuf {
        self.home().join(".config/mondoo/mondoo.yml")
    }
    fn system(&self) -> PathBuf {
        self.dir.path().join("etc/opt/mondoo/mondoo.yml")
    }
    fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    fn opts(&self, explicit: Option<PathBuf>, env: BTreeMap<String, String>) -> LoadOptions {
        {
            let mut o = LoadOptions::new().with_env(env).with_home(self.home()).with_system_path(self.system());
            o.path = explicit;
            o
        }
    }
    fn load(&self, explicit: Option<PathBuf>, env: BTreeMap<String, String>) -> mondoo::Result<Config> {
        Config::load_with(&self.opts(explicit, env))
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn parse_yaml(text: &str) -> serde_yaml_ng::Mapping {
    match serde_yaml_ng::from_str::<Value>(text).unwrap() {
        Value::Mapping(m) => m,
        other => panic!("not a mapping: {other:?}"),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

// ---------------------------------------------------------------------------------------
// Precedence (1.2)

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Base64,
    Explicit,
    EnvPath,
    Home,
    System,
    None,
}

#[test]
fn precedence_matrix() {
    // (base64, explicit, env path, home, system) present? → winner
    let cases: &[(bool, bool, bool, bool, bool, Expect)] = &[
        (true, true, true, true, true, Expect::Base64),
        (true, false, false, false, false, Expect::Base64),
        (false, true, true, true, true, Expect::Explicit),
        (false, true, false, false, false, Expect::Explicit),
        (false, false, true, true, true, Expect::EnvPath),
        (false, false, true, false, false, Expect::EnvPath),
        (false, false, false, true, true, Expect::Home),
        (false, false, false, true, false, Expect::Home),
        (false, false, false, false, true, Expect::System),
        (false, false, false, false, false, Expect::None),
    ];
    for &(base64, explicit, env_path, home, system, expect) in cases {
        let sb = Sandbox::new();
        let explicit_path = sb.file("explicit/mondoo.yml");
        let env_file = sb.file("envpath/mondoo.yml");
        let mut vars = BTreeMap::new();
        if base64 {
            vars.insert("MONDOO_CONFIG_BASE64".to_string(), b64("name: base64\n"));
        }
        if explicit {
            sb.write(&explicit_path, "name: explicit\n");
        }
        if env_path {
            sb.write(&env_file, "name: envpath\n");
            vars.insert("MONDOO_CONFIG_PATH".to_string(), env_file.display().to_string());
        }
        if home {
            sb.write(&sb.home_config(), "name: home\n");
        }
        if system {
            sb.write(&sb.system(), "name: system\n");
        }
        let case = format!("case {:?}", (base64, explicit, env_path, home, system));
        let c = sb.load(explicit.then(|| explicit_path.clone()), vars).unwrap_or_else(|e| panic!("{case}: {e}"));
        let (source, path, name) = match expect {
            Expect::Base64 => (ConfigSource::Base64Env, None, Some("base64")),
            Expect::Explicit => (ConfigSource::Explicit, Some(explicit_path), Some("explicit")),
            Expect::EnvPath => (ConfigSource::EnvPath, Some(env_file), Some("envpath")),
            Expect::Home => (ConfigSource::Default, Some(sb.home_config()), Some("home")),
            Expect::System => (ConfigSource::Default, Some(sb.system()), Some("system")),
            Expect::None => (ConfigSource::None, Some(sb.home_config()), None),
        };
        assert_eq!(c.source(), source, "{case}");
        assert_eq!(c.path(), path.as_deref(), "{case}");
        assert_eq!(c.name().as_deref(), name, "{case}");
    }
}

#[test]
fn empty_env_values_do_not_select_a_source() {
    let sb = Sandbox::new();
    sb.write(&sb.home_config(), "name: home\n");
    let c = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", ""), ("MONDOO_CONFIG_PATH", "")])).unwrap();
    assert_eq!(c.source(), ConfigSource::Default);
    assert_eq!(c.name().as_deref(), Some("home"));
}

#[test]
fn home_comes_from_the_env_map_when_not_given() {
    let sb = Sandbox::new();
    sb.write(&sb.home_config(), "name: home\n");
    let opts = LoadOptions::new().with_env(env(&[("HOME", sb.home().to_str().unwrap())])).with_system_path(sb.system());
    let c = Config::load_with(&opts).unwrap();
    assert_eq!(c.path(), Some(sb.home_config().as_path()));
}

#[test]
fn explicit_path_wins_over_env_path_even_when_missing() {
    let sb = Sandbox::new();
    let env_file = sb.file("envpath.yml");
    sb.write(&env_file, "name: envpath\n");
    sb.write(&sb.home_config(), "name: home\n");
    let missing = sb.file("nope/mondoo.yml");
    let e = sb.load(Some(missing.clone()), env(&[("MONDOO_CONFIG_PATH", env_file.to_str().unwrap())])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigNotFound);
    assert_eq!(e.message(), format!("no config at {} (from --config)", missing.display()));
    assert_eq!(e.path(), Some(missing.as_path()));
}

#[test]
fn missing_env_path_is_an_error() {
    let sb = Sandbox::new();
    sb.write(&sb.home_config(), "name: home\n");
    let missing = sb.file("gone.yml");
    let e = sb.load(None, env(&[("MONDOO_CONFIG_PATH", missing.to_str().unwrap())])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigNotFound);
    assert_eq!(e.message(), format!("no config at {} (from $MONDOO_CONFIG_PATH)", missing.display()));
}

#[test]
fn aws_ssm_sources_are_unsupported() {
    let sb = Sandbox::new();
    let ssm = "aws-ssm-ps://us-east-1/mondoo/config";
    let e = sb.load(Some(PathBuf::from(ssm)), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigUnsupportedSource, "{e}");
    assert!(e.message().contains(ssm) && e.message().contains("--config"), "{e}");
    let e = sb.load(None, env(&[("MONDOO_CONFIG_PATH", ssm)])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigUnsupportedSource, "{e}");
    let e = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", ssm)])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigUnsupportedSource, "{e}");
}

// ---------------------------------------------------------------------------------------
// Fixtures

const SA_MRN: &str =
    "//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/serviceaccounts/2Xa7TestServiceAccount01";
const SPACE_MRN: &str = "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456";

#[test]
fn credentials_json_fixture() {
    let sb = Sandbox::new();
    let path = fixture("service-account/credentials.json");
    let c = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
    assert_eq!(c.source(), ConfigSource::Explicit);
    assert_eq!(c.path(), Some(path.as_path()));
    assert_eq!(c.format(), ConfigFormat::Json);
    assert_eq!(c.service_account_mrn().as_deref(), Some(SA_MRN));
    assert_eq!(c.space_mrn().as_deref(), Some(SPACE_MRN), "space_mrn is the scope");
    assert_eq!(c.api_endpoint(), "https://us.api.mondoo.com");
    assert!(c.certificate().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(c.is_registered());
}

#[test]
fn credentials_base64_fixture_through_env() {
    let sb = Sandbox::new();
    sb.write(&sb.home_config(), "name: home\n");
    let encoded = read_fixture("service-account/credentials.json.b64");
    let c = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", &encoded)])).unwrap();
    assert_eq!(c.source(), ConfigSource::Base64Env);
    assert_eq!(c.source().as_str(), "$MONDOO_CONFIG_BASE64");
    assert_eq!(c.path(), None);
    assert_eq!(c.service_account_mrn().as_deref(), Some(SA_MRN));
    assert_eq!(c.space_mrn().as_deref(), Some(SPACE_MRN));
    assert!(c.is_registered());

    // same document as the JSON file
    let json = Config::parse(&read_fixture("service-account/credentials.json")).unwrap();
    assert_eq!(c.redacted_json(), json.redacted_json());

    // line breaks inside the base64 are ignored (as the console wraps it)
    let compact: String = encoded.split_whitespace().collect();
    let wrapped: String =
        compact.as_bytes().chunks(76).map(|l| format!("{}\n", std::str::from_utf8(l).unwrap())).collect();
    let c2 = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", &wrapped)])).unwrap();
    assert_eq!(c2.service_account_mrn().as_deref(), Some(SA_MRN));
}

#[test]
fn base64_config_cannot_be_saved_without_a_path() {
    let sb = Sandbox::new();
    let encoded = read_fixture("service-account/credentials.json.b64");
    let mut c = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", &encoded)])).unwrap();
    let e = c.save().unwrap_err();
    assert_eq!(e.code(), Code::ConfigNotWritable);
    assert!(e.message().contains("$MONDOO_CONFIG_BASE64"), "{e}");

    let target = sb.file("written/mondoo.yml");
    c.set_path(target.clone());
    c.set("agent_mrn", "//agents/new".into());
    c.save().unwrap();
    assert_eq!(c.format(), ConfigFormat::Yaml);
    let back = sb.load(Some(target), BTreeMap::new()).unwrap();
    assert_eq!(back.service_account_mrn().as_deref(), Some(SA_MRN));
    assert_eq!(back.agent_mrn().as_deref(), Some("//agents/new"));
    assert!(back.is_registered());
}

#[test]
fn invalid_base64_is_a_parse_error_naming_the_variable() {
    let sb = Sandbox::new();
    let e = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", "not*base64!")])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(e.message().contains("$MONDOO_CONFIG_BASE64"), "{e}");
    // valid base64 of a broken document
    let e = sb.load(None, env(&[("MONDOO_CONFIG_BASE64", &b64("a: b\n c: d: e\n"))])).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(e.message().starts_with("$MONDOO_CONFIG_BASE64:2:3: invalid YAML: "), "{e}");
}

#[test]
fn organization_credentials_scope() {
    let sb = Sandbox::new();
    let c = sb.load(Some(fixture("service-account/credentials-org.json")), BTreeMap::new()).unwrap();
    assert_eq!(c.space_mrn().as_deref(), Some("//captain.api.mondoo.app/organizations/test-lunar-org-654321"));
    assert!(c.is_registered());
}

#[test]
fn scope_resolution_order() {
    let c = Config::parse("parent_mrn: p\nspace_mrn: s\nscope_mrn: o\n").unwrap();
    assert_eq!(c.space_mrn().as_deref(), Some("o"));
    let c = Config::parse("parent_mrn: p\nspace_mrn: s\nscope_mrn: ''\n").unwrap();
    assert_eq!(c.space_mrn().as_deref(), Some("s"));
    let c = Config::parse("parent_mrn: p\n").unwrap();
    assert_eq!(c.space_mrn().as_deref(), Some("p"));
    assert_eq!(Config::parse("a: 1\n").unwrap().space_mrn(), None);
}

#[test]
fn agent_config_fixture_reads_every_field() {
    let sb = Sandbox::new();
    let c = sb.load(Some(fixture("configs/mondoo.yml")), BTreeMap::new()).unwrap();
    assert_eq!(c.format(), ConfigFormat::Yaml);
    assert_eq!(
        c.agent_mrn().as_deref(),
        Some("//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/2Xa7TestAgent000000000001")
    );
    assert_eq!(c.api_proxy().as_deref(), Some("http://127.0.0.1:3128"));
    assert_eq!(c.features(), vec!["MQLAssetContext".to_string()]);
    assert_eq!(c.annotations(), env(&[("owner", "platform-team")]));
    assert!(c.labels().is_empty());
    assert_eq!(c.get("updates_url").as_deref(), Some("https://releases.example.internal"));
    assert_eq!(c.get("scan_interval"), None, "a map is not a scalar");
    assert_eq!(c.get_value("scan_interval"), Some(serde_json::json!({"timer": 60, "splay": 60})));
    assert!(c.is_registered());
}

#[test]
fn agent_config_rewrite_keeps_every_other_key_and_value() {
    let sb = Sandbox::new();
    let original = read_fixture("configs/mondoo.yml");
    // add what other tools may also leave: a dotted key, nested lists, odd scalars
    let original = format!(
        "{original}scan_interval.timer: 30\nlog:\n  level: debug\n  outputs: [stderr, file]\nauto_update: false\nverbose: yes\nratio: 0.5\nempty:\nproviders_url: 'https://p/{{{{.Version}}}}'\n"
    );
    let path = sb.file("agent/mondoo.yml");
    sb.write(&path, &original);

    let mut c = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
    c.set("agent_mrn", "//agents.api.mondoo.app/spaces/s/agents/changed".into());
    c.save().unwrap();

    let written = std::fs::read_to_string(&path).unwrap();
    let before = parse_yaml(&original);
    let after = parse_yaml(&written);
    let keys_before: Vec<&Value> = before.keys().collect();
    let keys_after: Vec<&Value> = after.keys().collect();
    assert_eq!(keys_before, keys_after, "key order kept");
    for (k, v) in &before {
        if k.as_str() == Some("agent_mrn") {
            assert_eq!(after[k], Value::from("//agents.api.mondoo.app/spaces/s/agents/changed"));
        } else {
            assert_eq!(&after[k], v, "key {k:?} changed; written:\n{written}");
        }
    }
    // PEM values stay block literals, as cnspec writes them (readable by Go's yaml.v3)
    assert!(written.contains("certificate: |\n  -----BEGIN CERTIFICATE-----\n"), "{written}");
    assert!(written.contains("private_key: |\n  -----BEGIN PRIVATE KEY-----\n"), "{written}");
    // and reading it again gives the same document
    let again = sb.load(Some(path), BTreeMap::new()).unwrap();
    assert_eq!(again.redacted_json(), c.redacted_json());
}

#[test]
fn keys_match_case_insensitively() {
    let sb = Sandbox::new();
    let path = sb.file("upper.yml");
    sb.write(&path, "MRN: //agents/sa\nPrivate_Key: |\n  -----BEGIN PRIVATE KEY-----\n  AAAA\n  -----END PRIVATE KEY-----\nAPI_Endpoint: eu.api.mondoo.com/\nSpace_MRN: //spaces/x\n");
    let mut c = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
    assert_eq!(c.service_account_mrn().as_deref(), Some("//agents/sa"));
    assert!(c.is_registered());
    assert_eq!(c.api_endpoint(), "https://eu.api.mondoo.com");
    assert_eq!(c.space_mrn().as_deref(), Some("//spaces/x"));
    // set keeps the existing spelling; a new key is lower-case
    c.set("mrn", "//agents/other".into());
    c.set("Agent_Mrn", "//agents/a".into());
    c.save().unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("MRN: //agents/other\n"), "{written}");
    assert!(written.contains("\nagent_mrn: //agents/a\n"), "{written}");
    assert!(!written.contains("\nmrn:"), "{written}");
}

#[test]
fn env_overrides_apply_on_read_and_are_never_written() {
    let sb = Sandbox::new();
    let path = sb.file("agent/mondoo.yml");
    sb.write(&path, &read_fixture("configs/mondoo.yml"));
    let vars = env(&[
        ("MONDOO_API_ENDPOINT", "https://env.example.com/"),
        ("MONDOO_AGENT_MRN", "//agents/from-env"),
        ("MONDOO_UPDATES_URL", "https://env-updates"),
        ("MONDOO_NAME", "env-name"),
        ("MONDOO_API_PROXY", ""),
    ]);
    let mut c = sb.load(Some(path.clone()), vars).unwrap();
    assert_eq!(c.api_endpoint(), "https://env.example.com");
    assert_eq!(c.agent_mrn().as_deref(), Some("//agents/from-env"));
    assert_eq!(c.get("updates_url").as_deref(), Some("https://env-updates"), "key present in the file");
    assert_eq!(c.name().as_deref(), Some("env-name"), "known key absent from the file");
    assert_eq!(c.api_proxy().as_deref(), Some("http://127.0.0.1:3128"), "empty env value ignored");
    assert_eq!(c.env_value("api_endpoint").as_deref(), Some("https://env.example.com/"));
    assert_eq!(c.file_value("api_endpoint").as_deref(), Some("https://us.api.mondoo.com"));

    c.set("labels", serde_json::json!({"env": "test"}));
    c.save().unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    for leaked in ["env.example.com", "from-env", "env-updates", "env-name"] {
        assert!(!written.contains(leaked), "env value {leaked} was written:\n{written}");
    }
    let after = parse_yaml(&written);
    let before = parse_yaml(&read_fixture("configs/mondoo.yml"));
    for (k, v) in &before {
        assert_eq!(&after[k], v, "key {k:?}");
    }
    assert_eq!(after["labels"]["env"], Value::from("test"));
}

#[test]
fn parse_error_names_file_line_and_column_and_keeps_the_file() {
    let sb = Sandbox::new();
    let path = sb.file("broken.yml");
    let text = "mrn: //agents/x\nspace_mrn: //spaces/y\n  bad: indentation: here\n";
    sb.write(&path, text);
    let e = sb.load(Some(path.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    let prefix = format!("{}:3:", path.display());
    assert!(e.message().starts_with(&prefix), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a broken file is never touched");

    let json = sb.file("broken.json");
    sb.write(&json, "{\n  \"mrn\": \"x\",\n  \"space_mrn\": [\n}\n");
    let e = sb.load(Some(json.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(e.message().starts_with(&format!("{}:4:1:", json.display())), "{e}");
}

#[test]
fn document_that_is_not_a_mapping_is_a_parse_error() {
    let sb = Sandbox::new();
    let path = sb.file("list.yml");
    sb.write(&path, "- mrn\n- private_key\n");
    let e = sb.load(Some(path.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(e.message().contains(&path.display().to_string()) && e.message().contains("mapping"), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
}

#[test]
fn unreadable_and_too_large_files() {
    let sb = Sandbox::new();
    // a directory where the file should be: unreadable as a file
    let dir = sb.file("a-directory.yml");
    std::fs::create_dir_all(&dir).unwrap();
    let e = sb.load(Some(dir.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::Io, "{e}");
    assert!(e.message().contains(&dir.display().to_string()), "{e}");
    assert_eq!(e.path(), Some(dir.as_path()));

    let big = sb.file("big.yml");
    sb.write(&big, &format!("junk: '{}'\n", "x".repeat(1024 * 1024)));
    let e = sb.load(Some(big.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigTooLarge, "{e}");
    assert_eq!(e.path(), Some(big.as_path()));
}

#[test]
fn keyless_configs_are_recognised_and_other_auth_methods_unsupported() {
    let sb = Sandbox::new();
    for (text, method) in [
        ("auth:\n  method: ssh\nmrn: //captain/users/u\nspace_mrn: //captain/spaces/s\n", AuthMethod::Ssh),
        ("Auth:\n  Method: wif\naudience: x\nissuerUri: https://issuer\n", AuthMethod::WorkloadIdentity),
        (
            "type: external_account\naudience: //iam\nissuerUri: https://issuer\nuniverseDomain: api.example\n",
            AuthMethod::WorkloadIdentity,
        ),
    ] {
        let path = sb.file("auth.yml");
        sb.write(&path, text);
        let config = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
        assert_eq!(config.auth_method(), Some(method), "{text}");
        assert!(config.needs_exchange() && !config.is_registered(), "{text}");
    }
    // incomplete keyless configs name the missing key and the file
    for (text, key) in [
        ("auth:\n  method: ssh\nspace_mrn: //captain/spaces/s\n", "`mrn`"),
        ("auth:\n  method: ssh\nmrn: //captain/users/u\n", "scope_mrn"),
        ("type: external_account\nissuerUri: https://issuer\n", "`audience`"),
    ] {
        let path = sb.file("auth.yml");
        sb.write(&path, text);
        let e = sb.load(Some(path.clone()), BTreeMap::new()).unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid, "{text}: {e}");
        assert!(e.message().contains(key) && e.message().contains(&path.display().to_string()), "{text}: {e}");
    }
    let path = sb.file("auth.yml");
    sb.write(&path, "auth:\n  method: oauth\n");
    let e = sb.load(Some(path.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigUnsupportedAuth, "{e}");
    assert!(e.message().contains("unsupported auth method: oauth"), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    // a flow that rewrites the config (token login) can still read it
    let doc = Config::load_document(&sb.opts(Some(path), BTreeMap::new())).unwrap();
    assert!(!doc.is_registered());
}

#[test]
fn mrn_without_private_key_is_invalid() {
    let sb = Sandbox::new();
    let path = sb.file("half.yml");
    sb.write(&path, "mrn: //agents/sa\nprivate_key: ''\n");
    let e = sb.load(Some(path.clone()), BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigInvalid);
    assert!(e.message().contains(&path.display().to_string()) && e.message().contains("private_key"), "{e}");
    assert_eq!(e.path(), Some(path.as_path()));
    // a private key from MONDOO_PRIVATE_KEY completes it
    let c = sb.load(Some(path), env(&[("MONDOO_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\n")])).unwrap();
    assert!(c.is_registered());
}

// ---------------------------------------------------------------------------------------
// Writing (1.5)

#[test]
fn json_stays_json() {
    let sb = Sandbox::new();
    let path = sb.file("creds/credentials.json");
    let original = read_fixture("service-account/credentials.json");
    sb.write(&path, &original);
    let mut c = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
    c.set("agent_mrn", "//agents/new".into());
    c.remove("certificate");
    c.save().unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("{\n  \"mrn\": "), "{written}");
    assert!(written.ends_with("}\n"));
    let after: serde_json::Value = serde_json::from_str(&written).unwrap();
    let before: serde_json::Value = serde_json::from_str(&original).unwrap();
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    let mut expected: Vec<&String> = before.as_object().unwrap().keys().filter(|k| *k != "certificate").collect();
    let agent = "agent_mrn".to_string();
    expected.push(&agent);
    assert_eq!(keys, expected);
    assert_eq!(after["private_key"], before["private_key"]);
    assert_eq!(after["agent_mrn"], "//agents/new");
}

#[test]
fn json_content_in_a_yml_file_stays_json() {
    let sb = Sandbox::new();
    let path = sb.file("mondoo.yml");
    sb.write(&path, "{\"mrn\": \"//a\", \"private_key\": \"k\"}");
    let c = sb.load(Some(path.clone()), BTreeMap::new()).unwrap();
    assert_eq!(c.format(), ConfigFormat::Json);
    c.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\n  \"mrn\": \"//a\",\n  \"private_key\": \"k\"\n}\n");
}

#[cfg(unix)]
#[test]
fn new_file_is_0600_in_0700_parents_and_no_temp_files_remain() {
    let sb = Sandbox::new();
    // nothing found: the config points at the home path, which does not exist yet
    let mut c = sb.load(None, BTreeMap::new()).unwrap();
    assert_eq!(c.source(), ConfigSource::None);
    assert_eq!(c.path(), Some(sb.home_config().as_path()));
    c.set("agent_mrn", "//agents/a".into());
    c.save().unwrap();
    assert_eq!(mode(&sb.home_config()), 0o600);
    assert_eq!(mode(&sb.home().join(".config/mondoo")), 0o700);
    assert_eq!(mode(&sb.home().join(".config")), 0o700);
    assert_eq!(mode(&sb.home()), 0o700);
    c.set("name", "n".into());
    c.save().unwrap();
    c.save().unwrap();
    let entries: Vec<String> = std::fs::read_dir(sb.home().join(".config/mondoo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["mondoo.yml"]);
    assert_eq!(std::fs::read_to_string(sb.home_config()).unwrap(), "agent_mrn: //agents/a\nname: n\n");
}

#[cfg(unix)]
#[test]
fn mode_is_never_widened() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    for (before, after) in [(0o644, 0o600), (0o600, 0o600), (0o400, 0o400), (0o640, 0o600), (0o444, 0o400)] {
        let path = sb.file(&format!("mode-{before:o}.yml"));
        sb.write(&path, "a: 1\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(before)).unwrap();
        write_atomic(&path, b"a: 2\n").unwrap();
        assert_eq!(mode(&path), after, "file that had {before:o}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
    }
}

#[cfg(unix)]
#[test]
fn existing_parent_directory_mode_is_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let dir = sb.file("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_atomic(&dir.join("mondoo.yml"), b"a: 1\n").unwrap();
    assert_eq!(mode(&dir), 0o755);
}

#[cfg(unix)]
#[test]
fn owner_is_kept_when_root() {
    use std::os::unix::fs::MetadataExt;
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: changing a file's owner needs root");
        return;
    }
    let sb = Sandbox::new();
    let path = sb.file("owned.yml");
    sb.write(&path, "a: 1\n");
    std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
    write_atomic(&path, b"a: 2\n").unwrap();
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!((m.uid(), m.gid()), (4242, 4343));
}

#[test]
fn empty_at_writes_to_its_path() {
    let sb = Sandbox::new();
    let path = sb.file("new/credentials.json");
    let mut c = Config::empty_at(&path, ConfigSource::Explicit);
    assert_eq!(c.format(), ConfigFormat::Json);
    assert!(!c.is_registered());
    c.set("mrn", "//a".into());
    c.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\n  \"mrn\": \"//a\"\n}\n");
}

// ---------------------------------------------------------------------------------------
// Secrets

#[test]
fn debug_and_redacted_json_hide_the_private_key() {
    let sb = Sandbox::new();
    for rel in ["configs/mondoo.yml", "service-account/credentials.json"] {
        let c = sb.load(Some(fixture(rel)), BTreeMap::new()).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(debug.contains(SA_MRN) && debug.contains("Explicit"), "{debug}");
        let redacted = c.redacted_json();
        assert_eq!(redacted["private_key"], "<redacted>");
        assert!(!redacted.to_string().contains("PRIVATE KEY"));
        assert_eq!(redacted["mrn"], SA_MRN);
        assert_eq!(c.get_value("private_key"), None);
    }
    // no private key: nothing to redact, no key added
    let c = Config::parse("mrn_only: x\n").unwrap();
    assert!(c.redacted_json().get("private_key").is_none());
    // the key from the environment never shows either
    let c = sb
        .load(Some(fixture("configs/mondoo.yml")), env(&[("MONDOO_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nENV")]))
        .unwrap();
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    assert!(!c.redacted_json().to_string().contains("PRIVATE KEY"));
}

#[test]
fn public_readers_never_return_the_private_key() {
    let env: BTreeMap<String, String> =
        [("MONDOO_PRIVATE_KEY".to_string(), "-----BEGIN PRIVATE KEY-----\nenv\n".to_string())].into();
    let c = Config::load_with(&LoadOptions::new().with_path(fixture("service-account/credentials.json")).with_env(env))
        .unwrap();
    assert!(c.is_registered(), "the signer still sees the key");
    for key in ["private_key", "PRIVATE_KEY", "Private_Key"] {
        assert_eq!(c.get(key), None);
        assert_eq!(c.file_value(key), None);
        assert_eq!(c.env_value(key), None);
        assert_eq!(c.get_value(key), None);
    }
}
