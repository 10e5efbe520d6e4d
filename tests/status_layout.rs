//! The status text in the layout of the seeds (`cnspec status` as the project's
//! `register-with-token.md` shows it): in each of the four documented states, the same
//! lines in the same order with the same marks, labels and tab stops; values (hosts,
//! times, MRNs, paths) are masked. The layouts are written out below so that the test
//! needs nothing outside the repository.

use std::path::Path;

use mondoo::blocking::Client;
use mondoo::ClientOptions;
use mondoo::Config;
use mondoo_platform::{Platform, PlatformOptions};

mod common;
use common::{load_at, options, token_login};

/// One line of a documented `cnspec status` (cnspec's own `Latest Version:` and
/// `Installed Providers:` lines left out: they describe cnspec itself).
#[derive(Debug, Clone, Copy)]
enum Seed {
    /// `→ Label:` and the whitespace before the value (the value itself varies)
    Value(&'static str, &'static str),
    /// a source, verdict or warning line, compared after [`mask`]
    Text(&'static str),
}
use Seed::{Text, Value};

/// The lines every state starts with. (The seeds indent `Service Account:` with spaces
/// where Go writes a tab; the tab is what is expected below.)
const HEAD: [Seed; 11] = [
    Text("→ loaded configuration from PATH using source SOURCE"),
    Value("→ Platform:", "\t\t"),
    Value("→ Version:", "\t\t"),
    Value("→ Hostname:", "\t\t"),
    Value("→ IP:", "\t\t\t"),
    Value("→ Time:", "\t\t\t"),
    Value("→ Version:", "\t\t"),
    Value("→ API ConnectionConfig:", "\t"),
    Value("→ API Status:", "\t\t"),
    Value("→ API Time:", "\t\t"),
    Value("→ API Version:", "\t\t"),
];

/// What follows the head for a registered client.
const REGISTERED: [Seed; 4] = [
    Value("→ Owner:", "\t\t"),
    Value("→ Client:", "\t\t"),
    Value("→ Service Account:", "\t"),
    Text("→ client is registered"),
];

const AUTHENTICATED: Seed = Text("→ client authenticated successfully");

/// The layout of a state, by the seeds' block title.
fn seed_layout(state: &str) -> Vec<Seed> {
    let mut lines = HEAD.to_vec();
    match state {
        "Unregistered cnspec" => lines.extend([
            Text("x client is not registered"),
            Text(
                "x The Mondoo Platform credentials provided at PATH didn't successfully authenticate with \
                 Mondoo Platform. Please re-authenticate with Mondoo Platform. To learn how, read \
                 https://mondoo.com/docs/cnspec/cnspec-adv-install/registration/.",
            ),
        ]),
        "Correctly registered client" => {
            lines.extend(REGISTERED);
            lines.push(AUTHENTICATED);
        }
        "Invalid cnspec registration" => {
            lines.extend(REGISTERED);
            lines.push(Text(
                "x could not connect to mondoo platform error=\"rpc error: code = Unauthenticated desc = \
                 request permission unauthenticated\"",
            ));
        }
        "No current system time (clock skew detected)" => {
            lines.extend(REGISTERED);
            lines.extend([AUTHENTICATED, Text("! possible clock skew detected: 72h0m…")]);
        }
        other => panic!("no documented state {other:?}"),
    }
    lines
}

/// `→ Label:<whitespace>` of a `→ Key:\tvalue` line, or None for a verdict line.
fn label_of(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let label = &line[..colon + 1];
    let rest = &line[colon + 1..];
    let gap = &rest[..rest.len() - rest.trim_start().len()];
    let is_label = label.chars().skip(2).all(|c| c.is_ascii_alphabetic() || c == ' ' || c == ':');
    (is_label && (gap.contains('\t') || gap.len() > 1)).then_some((label, gap))
}

/// A line with its variable parts masked: paths, the config source and durations.
fn mask(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in line.split(' ') {
        let previous = words.last().map(String::as_str);
        if word.starts_with('/') {
            words.push("PATH".into());
        } else if previous == Some("source") {
            words.push("SOURCE".into());
        } else if let Some(i) = word.find("h0m") {
            words.push(format!("{}…", &word[..i + 3]));
        } else {
            words.push(word.into());
        }
    }
    words.join(" ")
}

fn assert_layout(state: &str, ours: &str) {
    let seed = seed_layout(state);
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), seed.len(), "{state}: line count\nours:\n{}\nseed:\n{seed:#?}", ours.join("\n"));
    for (o, s) in ours.iter().zip(&seed) {
        match *s {
            Value(label, gap) => {
                let found = label_of(o).unwrap_or_else(|| panic!("{state}: {o:?} is not {label:?}"));
                assert_eq!(found, (label, gap), "{state}: label and tab stops of {o:?}");
            }
            Text(text) => assert_eq!(mask(o), text, "{state}"),
        }
    }
}

fn status_text(path: &Path, options: ClientOptions) -> String {
    let client = Client::new(Config::load_with(&load_at(path)).unwrap(), options).unwrap();
    client.status().unwrap().to_text()
}

#[test]
fn masks_and_labels_read_lines_as_the_comparison_needs() {
    assert_eq!(
        mask("→ loaded configuration from /a/b.yml using source default"),
        "→ loaded configuration from PATH using source SOURCE"
    );
    assert_eq!(mask("! possible clock skew detected: 72h0m6.277868s"), "! possible clock skew detected: 72h0m…");
    assert_eq!(label_of("→ IP:\t\t\t1.2.3.4"), Some(("→ IP:", "\t\t\t")));
    assert_eq!(label_of("→ client is registered"), None);
    // Every expected text line is already in masked form.
    for state in SEED_STATES {
        for line in seed_layout(state) {
            if let Text(text) = line {
                assert_eq!(mask(text), text, "{state}");
            }
        }
    }
}

/// The four states the seeds document.
const SEED_STATES: [&str; 4] = [
    "Unregistered cnspec",
    "Correctly registered client",
    "Invalid cnspec registration",
    "No current system time (clock skew detected)",
];

#[test]
fn status_text_follows_the_seeds_in_every_state() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Unregistered: a config that names the endpoint but holds no credentials.
    let empty = dir.path().join("empty.yml");
    std::fs::write(&empty, format!("api_endpoint: {}\n", platform.url())).unwrap();
    assert_layout("Unregistered cnspec", &status_text(&empty, options()));

    let path = dir.path().join("mondoo.yml");
    token_login(&platform, &path, options());
    assert_layout("Correctly registered client", &status_text(&path, options()));

    // The seed's clock-skew state still authenticated: with skew correction, so do we.
    platform.set_clock_offset(72 * 3600 + 6);
    let corrected = options().with_correct_clock_skew(true);
    assert_layout("No current system time (clock skew detected)", &status_text(&path, corrected));
    platform.set_clock_offset(0);

    let sa = Config::load_with(&load_at(&path)).unwrap().get("mrn").unwrap().to_string();
    assert!(platform.revoke(&sa));
    assert_layout("Invalid cnspec registration", &status_text(&path, options()));
}
