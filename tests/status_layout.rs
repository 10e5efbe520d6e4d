//! The status text against the seeds (`../shared/seeds/register-with-token.md`): in each of
//! the four documented states, the same lines in the same order with the same marks,
//! labels and tab stops; values (hosts, times, MRNs, paths) are masked.

use std::collections::BTreeMap;
use std::path::Path;

use mondoo::flows::{Client, ClientOptions};
use mondoo::Config;
use mondoo_platform::{Platform, PlatformOptions};

mod common;
use common::{load_at, options, testdata, token_login};

/// Lines the seeds print that libmondoo leaves out: they describe cnspec itself.
const CNSPEC_ONLY: [&str; 2] = ["Latest Version:", "Installed Providers:"];

/// The status lines of each `cnspec status` block of the seeds, by block title.
fn seed_blocks() -> BTreeMap<String, Vec<String>> {
    let seeds = std::fs::read_to_string(testdata("../seeds/register-with-token.md")).unwrap();
    let mut blocks = BTreeMap::new();
    for block in seeds.split("```bash title=\"").skip(1) {
        let (title, body) = block.split_once('"').unwrap();
        let body = body.split("```").next().unwrap();
        let lines: Vec<String> = body
            .lines()
            .filter(|l| ["→ ", "x ", "! "].iter().any(|m| l.starts_with(m)))
            .filter(|l| !CNSPEC_ONLY.iter().any(|c| l[l.find(' ').unwrap() + 1..].starts_with(c)))
            .map(String::from)
            .collect();
        if !lines.is_empty() {
            blocks.insert(title.to_string(), lines);
        }
    }
    blocks
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

/// A verdict line with its variable parts masked: paths, the config source, durations,
/// and the seed's doubled `permission unauthenticated"` (an artifact of the document).
fn mask(line: &str) -> String {
    let line = line.replace("\"permission unauthenticated\"", "\"");
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

fn assert_layout(state: &str, ours: &str, seeds: &BTreeMap<String, Vec<String>>) {
    let seed = &seeds[state];
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), seed.len(), "{state}: line count\nours:\n{}\nseed:\n{}", ours.join("\n"), seed.join("\n"));
    for (o, s) in ours.iter().zip(seed) {
        match label_of(s) {
            Some((label, gap)) => {
                let (our_label, our_gap) = label_of(o).unwrap_or_else(|| panic!("{state}: {o:?} is not {label:?}"));
                assert_eq!(our_label, label, "{state}: {o:?}");
                // one seed line is indented with spaces where Go writes a tab; tabs must match
                if !gap.contains(' ') {
                    assert_eq!(our_gap, gap, "{state}: tab stops of {o:?}");
                }
            }
            None => assert_eq!(mask(o), mask(s), "{state}"),
        }
    }
}

fn status_text(path: &Path, options: ClientOptions) -> String {
    let client = Client::new(Config::load_with(&load_at(path)).unwrap(), options).unwrap();
    client.status().unwrap().to_text()
}

#[test]
fn the_seeds_hold_the_four_states() {
    let seeds = seed_blocks();
    assert_eq!(seeds.len(), 4, "{:?}", seeds.keys());
    assert_eq!(
        mask("→ loaded configuration from /a/b.yml using source default"),
        "→ loaded configuration from PATH using source SOURCE"
    );
    assert_eq!(label_of("→ IP:\t\t\t1.2.3.4"), Some(("→ IP:", "\t\t\t")));
    assert_eq!(label_of("→ client is registered"), None);
}

#[test]
fn status_text_follows_the_seeds_in_every_state() {
    let seeds = seed_blocks();
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Unregistered: a config that names the endpoint but holds no credentials.
    let empty = dir.path().join("empty.yml");
    std::fs::write(&empty, format!("api_endpoint: {}\n", platform.url())).unwrap();
    assert_layout("Unregistered cnspec", &status_text(&empty, options()), &seeds);

    let path = dir.path().join("mondoo.yml");
    token_login(&platform, &path, options());
    assert_layout("Correctly registered client", &status_text(&path, options()), &seeds);

    // The seed's clock-skew state still authenticated: with skew correction, so do we.
    platform.set_clock_offset(72 * 3600 + 6);
    let corrected = ClientOptions { correct_clock_skew: true, ..options() };
    assert_layout("No current system time (clock skew detected)", &status_text(&path, corrected), &seeds);
    platform.set_clock_offset(0);

    let sa = Config::load_with(&load_at(&path)).unwrap().get("mrn").unwrap().to_string();
    assert!(platform.revoke(&sa));
    assert_layout("Invalid cnspec registration", &status_text(&path, options()), &seeds);
}
