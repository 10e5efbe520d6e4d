//! The shape of a config document (issue 14: F2, F11, F12, F13): nesting is bounded
//! before any parser does quadratic work, a `.json` file that is not JSON gets a JSON
//! error, duplicate keys are refused with both places named, `mrn` is an MRN, an empty
//! path is an error. From files, from `MONDOO_CONFIG_BASE64` and from text alike.
//! No test here measures time: each asserts what is refused and how.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mondoo::__private::config::MAX_CONFIG_BYTES;
use mondoo::Code;
use mondoo::{Config, ConfigFormat, LoadOptions};

fn load_at(path: &Path) -> LoadOptions {
    LoadOptions::new().with_path(path.to_path_buf()).with_env(BTreeMap::new())
}

fn load_file(dir: &Path, name: &str, text: &str) -> (PathBuf, mondoo::Result<Config>) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let loaded = Config::load_with(&load_at(&path));
    (path, loaded)
}

fn load_base64(text: &str) -> mondoo::Result<Config> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let env: BTreeMap<String, String> = [("MONDOO_CONFIG_BASE64".to_string(), encoded)].into();
    let home = tempfile::tempdir().unwrap();
    Config::load_with(&LoadOptions::new().with_env(env).with_home(home.path().to_path_buf()))
}

const MAX: usize = mondoo::__private::config::structure::MAX_NESTING;

/// A YAML mapping whose value `x` is `depth - 1` nested lists (the mapping is level 1).
fn nested_yaml(depth: usize) -> String {
    format!("x: {}{}\n", "[".repeat(depth - 1), "]".repeat(depth - 1))
}

fn nested_json(depth: usize) -> String {
    format!("{{\"x\": {}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1))
}

// ---- F2: nesting ----------------------------------------------------------------------

#[test]
fn a_1_mib_maximally_nested_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let size = MAX_CONFIG_BYTES as usize;
    // Every byte after `x: ` opens a level: the deepest document the size limit allows.
    let yaml = format!("x: {}", "[".repeat(size - 3));
    let json = "[".repeat(size);
    // and closed, half as deep (520,000 levels took over 240 s to parse before)
    let closed = format!("x: {}{}\n", "[".repeat(size / 2 - 2), "]".repeat(size / 2 - 2));
    let block = format!("{}x\n", "- ".repeat(size / 2 - 1));
    for text in [&yaml, &json, &closed, &block] {
        assert!(text.len() as u64 <= MAX_CONFIG_BYTES && text.len() as u64 > MAX_CONFIG_BYTES - 4);
    }

    for (name, text, at) in [
        ("deep.yml", &yaml, "1:67"),
        ("deep.json", &json, "1:65"),
        // a .json name with YAML content is read as YAML: refused the same
        ("yaml-in.json", &yaml, "1:67"),
        ("closed.yml", &closed, "1:67"),
        ("block.yml", &block, "1:129"),
    ] {
        let (path, loaded) = load_file(dir.path(), name, text);
        let e = loaded.unwrap_err();
        assert_eq!(e.code(), Code::ConfigTooLarge, "{name}: {e}");
        assert_eq!(e.path(), Some(path.as_path()), "{name}");
        let expected = format!("{}:{at}: nested deeper than {MAX} levels", path.display());
        assert!(e.message().starts_with(&expected), "{name}: {}", e.message());
        // registration reads the same file the same way
        assert_eq!(Config::for_registration(&load_at(&path)).unwrap_err().code(), Code::ConfigTooLarge);
    }

    for (what, text) in [("yaml", &yaml), ("json", &json), ("closed", &closed)] {
        let e = load_base64(text).unwrap_err();
        assert_eq!(e.code(), Code::ConfigTooLarge, "{what}: {e}");
        assert!(e.message().starts_with("$MONDOO_CONFIG_BASE64:1:"), "{what}: {}", e.message());
        let e = Config::parse(text).unwrap_err();
        assert_eq!(e.code(), Code::ConfigTooLarge, "{what}: {e}");
    }
}

#[test]
fn nesting_up_to_the_limit_is_accepted_and_one_more_is_not() {
    for (text, too_deep) in [
        (nested_yaml(MAX), nested_yaml(MAX + 1)),
        (nested_json(MAX), nested_json(MAX + 1)),
        // block style: each key's value is a mapping one space deeper
        (
            (0..MAX).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect(),
            (0..=MAX).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect(),
        ),
    ] {
        let config = Config::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(config.get("x").is_none() || config.get("k0").is_none());
        let e = Config::parse(&too_deep).unwrap_err();
        assert_eq!(e.code(), Code::ConfigTooLarge, "{e}");
        assert!(e.message().contains(&format!("nested deeper than {MAX} levels")), "{e}");
    }
    // the place named is the level too many: line 65, column 65 in the block document
    let block: String = (0..=MAX).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    assert!(Config::parse(&block).unwrap_err().message().starts_with("config:65:65: "));
}

#[test]
fn brackets_in_a_key_or_text_are_not_nesting() {
    // Many brackets in strings raise the cheap bound past the limit: the exact scan then
    // decides, and a flat document passes.
    let text = format!("name: \"{}\"\nnote: |\n  {}\nprivate_key: x\nmrn: //x\n", "[".repeat(500), "{".repeat(500));
    let config = Config::parse(&text).unwrap();
    assert_eq!(config.name().map(|n| n.len()), Some(500));
    let json = format!("{{\"name\": \"{}\"}}", "[".repeat(500));
    assert_eq!(Config::parse(&json).unwrap().format(), ConfigFormat::Json);
}

// ---- F2: which parser -----------------------------------------------------------------

#[test]
fn a_json_file_that_is_not_json_gets_a_json_error_not_a_yaml_retry() {
    let dir = tempfile::tempdir().unwrap();
    // a trailing comma: not JSON, though YAML would take it as a flow mapping
    let (path, loaded) = load_file(dir.path(), "creds.json", "{\n  \"name\": \"x\",\n}\n");
    let e = loaded.unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(e.message().starts_with(&format!("{}:3:1: invalid JSON: ", path.display())), "{}", e.message());
    let (_, loaded) = load_file(dir.path(), "list.json", "[1, 2,]");
    assert!(loaded.unwrap_err().message().contains("invalid JSON"));

    // YAML by content (it does not start like JSON): read as YAML, written back as JSON
    let (_, loaded) = load_file(dir.path(), "yaml.json", "name: x\nlabels: {a: b}\n");
    let config = loaded.unwrap();
    assert_eq!(config.name().as_deref(), Some("x"));
    assert_eq!(config.format(), ConfigFormat::Json);

    // not a .json name: a YAML flow mapping that is not JSON is still YAML
    let (_, loaded) = load_file(dir.path(), "flow.yml", "{\n  \"name\": \"x\",\n}\n");
    assert_eq!(loaded.unwrap().format(), ConfigFormat::Yaml);
}

// ---- F12: duplicate keys --------------------------------------------------------------

#[test]
fn duplicate_keys_are_refused_naming_both_places() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, second, first, spelling) in [
        ("exact.yml", "mrn: //a\nprivate_key: k\nmrn: //b\n", "3:1", "1:1", None),
        ("case.yml", "mrn: //a\nprivate_key: k\nMRN: //b\n", "3:1", "1:1", Some("mrn")),
        ("exact.json", "{\"mrn\": \"//a\",\n \"private_key\": \"k\",\n \"mrn\": \"//b\"}", "3:2", "1:2", None),
        ("case.json", "{\"mrn\": \"//a\", \"private_key\": \"k\", \"MRN\": \"//b\"}", "1:36", "1:2", Some("mrn")),
        ("nested.json", "{\"labels\": {\"a\": \"1\",\n \"a\": \"2\"}}", "2:2", "1:13", None),
        ("nested.yml", "labels:\n  a: 1\n  a: 2\n", "3:3", "2:3", None),
    ] {
        let (path, loaded) = load_file(dir.path(), name, text);
        let e = loaded.unwrap_err();
        assert_eq!(e.code(), Code::ConfigParse, "{name}: {e}");
        let message = e.message();
        assert!(message.starts_with(&format!("{}:{second}: duplicate key ", path.display())), "{name}: {message}");
        assert!(message.contains(&format!("first at {first}")), "{name}: {message}");
        if let Some(spelling) = spelling {
            assert!(message.contains(&format!("as \"{spelling}\"; keys match case-insensitively")), "{message}");
        }
        let e = load_base64(text).unwrap_err();
        assert!(e.message().starts_with(&format!("$MONDOO_CONFIG_BASE64:{second}: duplicate key")), "{e}");
    }
    // nested keys differing in case are different keys (labels, other tools' sections)
    assert!(Config::parse("labels:\n  Env: a\n  env: b\n").is_ok());
    assert!(Config::parse("{\"labels\": {\"Env\": \"a\", \"env\": \"b\"}}").is_ok());
}

#[test]
fn a_key_that_looks_secret_is_not_echoed_in_a_duplicate_error() {
    let key = "-----BEGIN PRIVATE KEY-----MIG2AgEAMBAGByqGSM49AgEGBSuBBAAi";
    let e = Config::parse(&format!("\"{key}\": 1\n\"{key}\": 2\n")).unwrap_err();
    assert!(!e.message().contains("MIG2AgEA"), "{e}");
    assert!(e.message().contains("<redacted>"), "{e}");
}

// ---- F13 ------------------------------------------------------------------------------

#[test]
fn mrn_must_be_an_mrn_string() {
    for (text, found) in [
        ("mrn: 12345\nprivate_key: k\n", "found a number"),
        ("mrn: true\nprivate_key: k\n", "found a boolean"),
        ("mrn: agents/x\nprivate_key: k\n", "must be an MRN (`//...`)"),
        ("{\"mrn\": 12345, \"private_key\": \"k\"}", "found a number"),
    ] {
        let config = Config::parse(text).unwrap();
        let e = config.validate().unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid, "{text}");
        assert!(e.message().contains("key `mrn`") && e.message().contains(found), "{text}: {e}");
    }
    Config::parse("mrn: \"//agents.api.mondoo.app/spaces/s/serviceaccounts/x\"\nprivate_key: k\n")
        .unwrap()
        .validate()
        .unwrap();
    Config::parse("mrn: ''\n").unwrap().validate().unwrap();
}

#[test]
fn an_alias_bomb_error_gives_no_made_up_position() {
    let mut text = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut previous = "a";
    for n in names {
        text.push_str(&format!("{n}: &{n} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
        previous = n;
    }
    let e = Config::parse(&text).unwrap_err();
    assert_eq!(e.code(), Code::ConfigParse);
    assert!(!e.message().contains(":0:0"), "{e}");
    assert!(e.message().starts_with("config: invalid YAML: "), "{e}");
}

// ---- F11: an empty path ---------------------------------------------------------------

#[test]
fn an_empty_config_path_is_an_error_not_the_default_search() {
    let home = tempfile::tempdir().unwrap();
    let default = home.path().join(".config/mondoo/mondoo.yml");
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    std::fs::write(&default, "name: the-default\n").unwrap();
    let env: BTreeMap<String, String> = [("HOME".to_string(), home.path().display().to_string())].into();
    let options = LoadOptions::new().with_path(PathBuf::new()).with_env(env.clone());
    // the default file exists and would be found: an empty path must not fall back to it
    let found = Config::load_with(&{
        let mut o = options.clone();
        o.path = None;
        o
    })
    .unwrap();
    assert_eq!(found.name().as_deref(), Some("the-default"));

    for e in [
        Config::load_with(&options).unwrap_err(),
        Config::load_document(&options).unwrap_err(),
        Config::for_registration(&options).unwrap_err(),
        Config::load(Some(Path::new(""))).unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::InvalidArgument, "{e}");
        assert!(e.message().contains("config path is empty"), "{e}");
    }
}
