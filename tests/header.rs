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
    let version = unsafe { std::ffi::CStr::from_ptr(mondoo::ffi::mondoo_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn every_result_code_is_in_the_header_under_its_name() {
    let h = header();
    for code in mondoo::Code::ALL {
        let name = unsafe { std::ffi::CStr::from_ptr(mondoo::ffi::mondoo_result_name(code.value())) };
        let line = format!("    {} = {},", name.to_str().unwrap(), code.value());
        assert!(h.contains(&line), "{code:?}: the header has no line `{line}`");
    }
    let unknown = unsafe { std::ffi::CStr::from_ptr(mondoo::ffi::mondoo_result_name(4242)) };
    assert_eq!(unknown.to_str().unwrap(), "MONDOO_RESULT_UNKNOWN");
}

/// Each export passes its own name to the panic boundary, so messages name the right
/// function; a copied body with a stale name fails here.
#[test]
fn every_export_names_itself_at_the_boundary() {
    let dir = root().join("src/ffi");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read src/ffi")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.push(root().join("src/ffi.rs"));
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
            for call in ["guard(\"", "guard_value(\"", "optional_field(\"", "set_option(\""] {
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
