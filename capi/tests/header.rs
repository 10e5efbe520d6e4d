//! The checked-in C header is what the pinned cbindgen makes from the sources, and it
//! agrees with the crate: version macros, result-code names, export names.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cbindgen version the header is generated with (CI installs exactly this one).
const CBINDGEN_VERSION: &str = "0.29.4";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header() -> String {
    std::fs::read_to_string(root().join("include/mondoo.h")).expect("read include/mondoo.h")
}

#[test]
fn header_matches_a_fresh_cbindgen_run() {
    let cbindgen = std::env::var_os("CBINDGEN").unwrap_or_else(|| "cbindgen".into());
    let version = Command::new(&cbindgen).arg("--version").output().unwrap_or_else(|e| {
        panic!(
            "cannot run cbindgen ({e}); install the pinned version with \
             `cargo install cbindgen --version {CBINDGEN_VERSION} --locked`"
        )
    });
    let version = String::from_utf8_lossy(&version.stdout);
    assert_eq!(
        version.trim(),
        format!("cbindgen {CBINDGEN_VERSION}"),
        "the header is pinned to cbindgen {CBINDGEN_VERSION}"
    );

    let fresh: PathBuf = std::env::temp_dir().join(format!("mondoo-header-{}.h", std::process::id()));
    let run = Command::new(&cbindgen)
        .current_dir(root())
        .args(["--quiet", "--config", "cbindgen.toml", "--output"])
        .arg(&fresh)
        .output()
        .expect("run cbindgen");
    assert!(run.status.success(), "cbindgen failed: {}", String::from_utf8_lossy(&run.stderr));
    let generated = std::fs::read_to_string(&fresh).expect("read generated header");
    let _ = std::fs::remove_file(&fresh);

    let checked_in = header();
    if generated != checked_in {
        let first = generated
            .lines()
            .zip(checked_in.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| generated.lines().count().min(checked_in.lines().count()));
        panic!(
            "include/mondoo.h is stale (first difference at line {}): regenerate it with \
             `cbindgen --config cbindgen.toml --output include/mondoo.h` and commit it",
            first + 1
        );
    }
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} is not defined in include/mondoo.h"))
        .trim()
        .to_owned()
}

#[test]
fn version_macros_equal_the_crate_version() {
    let h = header();
    assert_eq!(define(&h, "MONDOO_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define(&h, "MONDOO_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define(&h, "MONDOO_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(define(&h, "MONDOO_VERSION_STRING"), format!("\"{}\"", env!("CARGO_PKG_VERSION")));
    let version = unsafe { std::ffi::CStr::from_ptr(mondoo_capi::mondoo_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn every_result_code_is_in_the_header_under_its_name() {
    let h = header();
    for code in mondoo::Code::ALL {
        let name = unsafe { std::ffi::CStr::from_ptr(mondoo_capi::mondoo_result_name(code.value())) };
        let line = format!("    {} = {},", name.to_str().unwrap(), code.value());
        assert!(h.contains(&line), "{code:?}: the header has no line `{line}`");
    }
    let unknown = unsafe { std::ffi::CStr::from_ptr(mondoo_capi::mondoo_result_name(4242)) };
    assert_eq!(unknown.to_str().unwrap(), "MONDOO_RESULT_UNKNOWN");
}

/// Each export passes its own name to the panic boundary, so messages name the right
/// function; a copied body with a stale name fails here.
#[test]
fn every_export_names_itself_at_the_boundary() {
    let dir = root().join("src");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read capi/src")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    let mut exports = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut current: Option<String> = None;
        // Unit tests at the end of a file call the boundary with made-up names.
        for line in text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")) {
            if let Some(rest) = line.split("extern \"C\" fn ").nth(1) {
                current = Some(rest.split('(').next().unwrap().to_owned());
                exports += 1;
            }
            for call in [
                "guard(\"",
                "guard_value(\"",
                "optional_field(\"",
                "set_option(\"",
                "status_field(\"",
                "registration_field(\"",
                "token_info_field(\"",
            ] {
                if let Some(rest) = line.split(call).nth(1) {
                    let named = rest.split('"').next().unwrap();
                    let fun = current.as_deref().unwrap_or("<none>");
                    assert_eq!(named, fun, "{}: `{fun}` passes the name `{named}`", file.display());
                }
            }
        }
    }
    assert!(exports >= 40, "found only {exports} exports; the scan is broken");
}

/// One function declaration of the header and the doc comment right above it.
struct Declaration {
    name: String,
    /// the comment's text lines, without the ` * ` prefix (empty when there is none)
    doc: Vec<String>,
    /// (parameter name, whether it is a pointer)
    params: Vec<(String, bool)>,
}

/// Every function declaration of the header (the prototypes inside `extern "C"`), with
/// the `/** ... */` comment that ends on the line right above it.
fn declarations(header: &str) -> Vec<Declaration> {
    let lines: Vec<&str> = header.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let starts_code = line.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let skip = ["typedef", "enum", "struct", "extern"].iter().any(|k| line.starts_with(k));
        if !starts_code || skip || !line.contains('(') {
            i += 1;
            continue;
        }
        // The prototype may span lines (one parameter per line); it ends with `);`.
        let first = i;
        let mut text = line.to_owned();
        while !text.trim_end().ends_with(");") {
            i += 1;
            assert!(i < lines.len(), "unterminated declaration at line {}: {line}", first + 1);
            text.push(' ');
            text.push_str(lines[i].trim());
        }
        i += 1;
        let open = text.find('(').unwrap();
        let close = text.rfind(')').unwrap();
        let name = text[..open].split(|c: char| c.is_whitespace() || c == '*').next_back().unwrap().to_owned();
        let params = text[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "void")
            .map(|p| {
                let param = p.split(|c: char| c.is_whitespace() || c == '*').next_back().unwrap().to_owned();
                (param, p.contains('*'))
            })
            .collect();
        let mut doc = Vec::new();
        if first > 0 && lines[first - 1].trim() == "*/" {
            let mut j = first - 1;
            while j > 0 && !lines[j].trim_start().starts_with("/**") {
                j -= 1;
            }
            for l in &lines[j + 1..first - 1] {
                let l = l.trim_start();
                let l = l.strip_prefix('*').unwrap_or(l);
                doc.push(l.strip_prefix(' ').unwrap_or(l).trim_end().to_owned());
            }
        }
        found.push(Declaration { name, doc, params });
    }
    found
}

const LABELS: [&str; 3] = ["Ownership:", "Thread safety:", "Errors:"];

/// The paragraph a label starts: its line and the following ones, up to a blank line or
/// the next label.
fn labelled<'a>(doc: &'a [String], label: &str) -> Option<Vec<&'a str>> {
    let start = doc.iter().position(|l| l.starts_with(label))?;
    let mut paragraph = vec![doc[start].as_str()];
    for l in &doc[start + 1..] {
        if l.is_empty() || LABELS.iter().any(|other| l.starts_with(other)) {
            break;
        }
        paragraph.push(l);
    }
    Some(paragraph)
}

fn mentions(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(is_ident)
            && !text[at + word.len()..].chars().next().is_some_and(is_ident)
    })
}

/// The header's promise: every function's comment says who owns what, whether it is
/// thread-safe and what it returns on error, each on a line of its own starting with
/// `Ownership:`, `Thread safety:` or `Errors:`; and the `Ownership:` paragraph names
/// every pointer parameter (borrowed, copied or taken; outputs: who frees them).
#[test]
fn every_function_comment_states_ownership_thread_safety_and_errors() {
    let h = header();
    let decls = declarations(&h);
    assert!(decls.len() >= 40, "found only {} declarations; the parser is broken", decls.len());
    let mut problems = Vec::new();
    for d in &decls {
        if d.doc.is_empty() {
            problems.push(format!("{}: no doc comment right above the declaration", d.name));
            continue;
        }
        for label in LABELS {
            if labelled(&d.doc, label).is_none() {
                problems.push(format!("{}: no line starting with `{label}`", d.name));
            }
        }
        if let Some(ownership) = labelled(&d.doc, "Ownership:") {
            let ownership = ownership.join(" ");
            for (param, pointer) in &d.params {
                if *pointer && !mentions(&ownership, param) {
                    problems.push(format!("{}: the `Ownership:` paragraph does not mention `{param}`", d.name));
                }
            }
        }
    }
    assert!(problems.is_empty(), "include/mondoo.h:\n  {}", problems.join("\n  "));
}

/// The parser above sees what it should: a multi-line prototype with its parameters,
/// and a comment's labelled lines.
#[test]
fn the_declaration_parser_reads_the_header_shapes() {
    let sample = "/**\n * Doc.\n *\n * Ownership: `a` is borrowed; `*out` is owned.\n * Thread safety: any.\n \
                  * Errors: none.\n */\nmondoo_result mondoo_x(const mondoo_config *a,\n                       \
                  uint64_t n,\n                       char **out);\n\nvoid mondoo_y(void);\n";
    let decls = declarations(sample);
    assert_eq!(decls.len(), 2);
    assert_eq!(decls[0].name, "mondoo_x");
    let params: Vec<(&str, bool)> = decls[0].params.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    assert_eq!(params, [("a", true), ("n", false), ("out", true)]);
    assert_eq!(labelled(&decls[0].doc, "Ownership:").unwrap(), ["Ownership: `a` is borrowed; `*out` is owned."]);
    assert!(labelled(&decls[0].doc, "Errors:").is_some());
    assert_eq!(decls[1].name, "mondoo_y");
    assert!(decls[1].doc.is_empty() && decls[1].params.is_empty());
    assert!(mentions("`*config_out` is new", "config_out"));
    assert!(!mentions("`config_out` is new", "config"));
}

#[test]
fn cmake_package_version_equals_the_crate_version() {
    let text =
        std::fs::read_to_string(root().join("cmake/mondooConfigVersion.cmake")).expect("read the CMake version file");
    let expected = format!("set(PACKAGE_VERSION \"{}\")", env!("CARGO_PKG_VERSION"));
    assert!(text.lines().any(|l| l.trim() == expected), "cmake/mondooConfigVersion.cmake lacks `{expected}`");
}
