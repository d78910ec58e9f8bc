//! House rules checked as a test: every Rust file opens with a `//!` line saying what it owns, and
//! ARCHITECTURE.md names every module of the daemon. It reads source files only.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let mut files = Vec::new();
    for dir in [
        "dockd/src",
        "dockd/benches",
        "web-ui/src",
        "web-ui/examples",
        "diagnostics/src",
        "tests/e2e",
    ] {
        let dir = root().join(dir);
        if dir.exists() {
            rust_files(&dir, &mut files);
        }
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` opening line: {missing:?}"
    );
}

#[test]
fn architecture_md_names_every_daemon_module() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let lib = std::fs::read_to_string(root().join("dockd/src/lib.rs")).unwrap();
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    assert!(modules.len() >= 10);
    for module in modules {
        assert!(
            map.contains(&format!("`{module}`")) || map.contains(&format!("::{module}")),
            "ARCHITECTURE.md does not mention `{module}`"
        );
    }
}
