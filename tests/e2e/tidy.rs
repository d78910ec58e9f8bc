//! House rules checked as a test, after rust-analyzer's `xtask/src/tidy.rs`: every Rust file opens
//! with a `//!` line; the nevers of ARCHITECTURE.md that a reader can check (no tokio, SQLite or
//! clock under `link` and `analysis`, no web-ui under `store`, work restrictions named only where
//! they may go); test-only files named as tests;
//! every module named in ARCHITECTURE.md; `tests/data` a byte-identical copy of `../shared`. Each
//! rule is a function over a source tree root, run once on the repository and once on a planted
//! violation in a temp folder. It reads files only, and writes only in its own temp folders.

use std::path::{Path, PathBuf};

use crate::support::TestDir;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The crates whose `src` the rules walk, with the name their modules have in Rust paths.
const CRATES: [(&str, &str); 3] = [
    ("dockd", "dockd"),
    ("web-ui", "web_ui"),
    ("diagnostics", "diagnostics"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file under `root/dir` (or that file itself), or none if it is absent.
fn files_under(root: &Path, dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let dir = root.join(dir);
    if dir.is_file() {
        files.push(dir);
    } else if dir.exists() {
        rust_files(&dir, &mut files);
    }
    files
}

/// `path` relative to `root`, with `/` separators, for messages.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A file that holds only tests (`tests.rs`, `*_tests.rs`) or test support (`testing.rs`: fakes,
/// fixtures, vectors; `fake.rs`: a fake view). Such files are compiled only under `#[cfg(test)]`,
/// and the rules for production code (the nevers, the architecture map) skip them.
fn is_test_file_name(stem: &str) -> bool {
    stem == "tests" || stem.ends_with("_tests") || stem == "testing" || stem == "fake"
}

fn is_test_file(path: &Path) -> bool {
    path.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(is_test_file_name)
}

/// The code of a production file as the compiler sees it outside tests: comments removed, and every
/// item marked `#[cfg(test)]` (a `mod tests { … }` block or a `mod x;` line) left out. Braces are
/// counted per line, which is enough for rustfmt-formatted code.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let code = strip_comment(line);
        if code.trim() == "#[cfg(test)]" {
            // Skip further attributes, then the item: one line ending in `;`, or up to its closing brace.
            let mut depth = 0i64;
            for item in lines.by_ref() {
                let item = strip_comment(item);
                if depth == 0 && item.trim_start().starts_with("#[") {
                    continue;
                }
                depth += item.matches('{').count() as i64 - item.matches('}').count() as i64;
                if depth <= 0 && (item.trim_end().ends_with(';') || item.trim_end().ends_with('}'))
                {
                    break;
                }
            }
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// A line without its `//` comment (a `//` inside a string literal is rare enough in these files to
/// be read as a comment too; that only ever hides code from the rules, never invents a violation).
fn strip_comment(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// Whether `word` occurs in `code` as a whole word (not as part of a longer identifier).
fn has_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Rule: the given folders' production code never names any of `words` (whole words, outside
/// comments and `#[cfg(test)]` items; test files are exempt). One line per offending file and word.
fn never_names(root: &Path, dirs: &[&str], words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for file in files_under(root, dir) {
            if is_test_file(&file) {
                continue;
            }
            let code = production_code(&std::fs::read_to_string(&file).unwrap());
            for word in words {
                if has_word(&code, word) {
                    found.push(format!("{} names `{word}`", shown(root, &file)));
                }
            }
        }
    }
    found
}

/// Rule: `link` and `analysis` are pure: no async runtime, no database, no clock.
fn impure_code_in_link_and_analysis(root: &Path) -> Vec<String> {
    never_names(
        root,
        &["dockd/src/link", "dockd/src/analysis"],
        &["tokio", "rusqlite", "SystemTime", "Instant::now"],
    )
}

/// Rule: the upload's pure core does no I/O and reads no clock; nothing the upload builds or sends
/// reads a badge tag's text or the page's `W-…` label; and no upload code names a way to accept an
/// invalid certificate.
fn upload_rules_broken(root: &Path) -> Vec<String> {
    let mut found = never_names(
        root,
        &["dockd/src/upload"],
        &["tokio", "rusqlite", "reqwest", "SystemTime", "Instant::now"],
    );
    found.extend(never_names(
        root,
        &["dockd/src/upload", "dockd/src/uploader"],
        &[
            "badge_text",
            "label",
            "danger_accept_invalid_certs",
            "danger_accept_invalid_hostnames",
            "dangerous",
        ],
    ));
    // The shared HTTPS client and the update's fetch never offer a way around a certificate.
    found.extend(never_names(
        root,
        &["dockd/src/https_client.rs", "dockd/src/update"],
        &[
            "danger_accept_invalid_certs",
            "danger_accept_invalid_hostnames",
            "dangerous",
        ],
    ));
    found
}

/// Rule: the store knows nothing of the web page.
fn web_ui_in_the_store(root: &Path) -> Vec<String> {
    never_names(root, &["dockd/src/store"], &["web_ui"])
}

/// The daemon's files that may name work restrictions (health-related data that never leaves the
/// dock): their store file and the writer, schema and error that carry them, the analysis check,
/// the views that show them, `app`, which starts their retention sweep, `privacy`, whose data
/// inventory classifies their table (it reads no row, and lists no record kind for it), and
/// `privacy::export`, the worker's own export of their data (the right of access, written only for
/// the person who asked). Anything else — an upload, the console, the status page — naming them
/// is reported.
const WORK_RESTRICTION_FILES: [&str; 12] = [
    "dockd/src/store/work_restrictions.rs",
    "dockd/src/config.rs",
    "dockd/src/store/writer.rs",
    "dockd/src/store/schema.rs",
    "dockd/src/store/mod.rs",
    "dockd/src/analysis/work_restrictions.rs",
    "dockd/src/analysis/mod.rs",
    "dockd/src/views/analysis.rs",
    "dockd/src/views/roster.rs",
    "dockd/src/app.rs",
    "dockd/src/privacy.rs",
    "dockd/src/privacy/export.rs",
];

/// Rule: work restrictions never leave the dock: outside [`WORK_RESTRICTION_FILES`], no production
/// code of the daemon names their types, table or module (`WorkRestriction…`, `work_restriction…`,
/// in any case).
fn work_restrictions_named_outside_their_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in files_under(root, "dockd/src") {
        let shown_path = shown(root, &file);
        if is_test_file(&file) || WORK_RESTRICTION_FILES.contains(&shown_path.as_str()) {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&file).unwrap()).to_lowercase();
        if code.contains("workrestriction") || code.contains("work_restriction") {
            found.push(format!("{shown_path} names work restrictions"));
        }
    }
    found
}

/// Rule: test-only files are named as tests. No `#[path]` (the module tree is the file tree), and a
/// module declared under `#[cfg(test)]` as `mod x;` has a test file name (see `is_test_file_name`).
fn test_files_without_test_names(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (dir, _) in CRATES {
        for file in files_under(root, &format!("{dir}/src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut after_cfg_test = false;
            for line in text.lines().map(|l| strip_comment(l).trim()) {
                if line.starts_with("#[path") {
                    found.push(format!(
                        "{} uses `{line}`: keep a module in the file its name says",
                        shown(root, &file)
                    ));
                }
                if line == "#[cfg(test)]" {
                    after_cfg_test = true;
                    continue;
                }
                if after_cfg_test && line.starts_with("#[") {
                    continue;
                }
                if after_cfg_test
                    && let Some(name) = declared_module(line)
                    && !is_test_file_name(name)
                {
                    found.push(format!(
                        "{} declares the test-only `mod {name};`: name its file tests.rs, *_tests.rs or testing.rs",
                        shown(root, &file)
                    ));
                }
                after_cfg_test = false;
            }
        }
    }
    found
}

/// `x` for a line `mod x;` or `pub(crate) mod x;` (a module in its own file).
fn declared_module(line: &str) -> Option<&str> {
    let rest = line.strip_suffix(';')?;
    let at = rest.find("mod ")?;
    let (vis, name) = (rest[..at].trim(), rest[at + 4..].trim());
    (vis.is_empty() || vis.starts_with("pub")).then_some(name)
}

/// The Rust path of a module file: `dockd/src/store/diag.rs` → `dockd::store::diag`,
/// `web-ui/src/pages/mod.rs` → `web_ui::pages`; `None` for a crate root (`lib.rs`, `main.rs`).
/// The binary's modules (`dockd/src/cli/…`) are named under `dockd` too.
fn module_path(src: &Path, crate_name: &str, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.is_empty() || parts == ["lib"] || parts == ["main"] {
        return None;
    }
    Some(format!("{crate_name}::{}", parts.join("::")))
}

/// Every full module path a code span of ARCHITECTURE.md spells, with `{a, b}` groups expanded:
/// `` `dockd::store::{diag, site}` `` gives `dockd::store::diag` and `dockd::store::site`.
/// Spans are read line by line, outside fenced code blocks.
fn spelled_paths(map: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut fenced = false;
    for line in map.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            for span in line.split('`').skip(1).step_by(2) {
                expand(span.trim(), &mut paths);
            }
        }
    }
    paths
}

fn expand(span: &str, out: &mut Vec<String>) {
    let Some(open) = span.find('{') else {
        out.push(span.to_owned());
        return;
    };
    let Some(close) = span.rfind('}').filter(|&close| close > open) else {
        out.push(span.to_owned());
        return;
    };
    let (prefix, inner) = (&span[..open], &span[open + 1..close]);
    // Split the group at top-level commas only, so nested groups stay whole.
    let mut depth = 0;
    let mut start = 0;
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{}", inner[start..at].trim()), out);
                start = at + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() {
        expand(&format!("{prefix}{last}"), out);
    }
}

/// Rule: ARCHITECTURE.md names every production module of the three crates. A module counts as
/// named when a code span spells its full path, crate first (`dockd::store::diag`,
/// `web_ui::pages::status`, `diagnostics::gps::client`), with `{…}` groups allowed
/// (`dockd::store::{diag, site}`). One way only, so a grep for the path finds the line. Test files
/// are exempt. The message lists exactly the modules that are missing.
fn modules_missing_from_architecture_md(root: &Path) -> Vec<String> {
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let spelled = spelled_paths(&map);
    let mut missing = Vec::new();
    for (dir, crate_name) in CRATES {
        let src = root.join(dir).join("src");
        for file in files_under(root, &format!("{dir}/src")) {
            if is_test_file(&file) {
                continue;
            }
            if let Some(path) = module_path(&src, crate_name, &file)
                && !spelled.contains(&path)
            {
                missing.push(path);
            }
        }
    }
    missing
}

/// Writes `files` (path, text) under a fresh temp folder: a planted source tree.
fn planted(name: &str, files: &[(&str, &str)]) -> TestDir {
    let dir = TestDir::new(name);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn planted_root(dir: &TestDir) -> PathBuf {
    dir.join("")
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let root = root();
    let mut files = Vec::new();
    for dir in [
        "dockd/src",
        "dockd/benches",
        "web-ui/src",
        "web-ui/examples",
        "diagnostics/src",
        "diagnostics/tests",
        "diagnostics/benches",
        "tests/e2e",
        "tests/receivers/src",
        "tests/receivers/tests",
        "tests/debian-system/src",
        "tests/debian-system/tests",
    ] {
        files.extend(files_under(&root, dir));
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
fn link_and_analysis_never_name_tokio_rusqlite_or_a_clock_outside_tests() {
    let found = impure_code_in_link_and_analysis(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_clock_runtime_or_database_under_link_or_analysis_is_reported() {
    let dir = planted(
        "tidy-pure",
        &[
            ("dockd/src/link/x.rs", "//! x\nuse tokio::sync::mpsc;\n"),
            (
                "dockd/src/analysis/y.rs",
                "//! y\nfn f() { let _ = std::time::SystemTime::now(); let _ = rusqlite::Connection::open_in_memory(); }\n",
            ),
            (
                "dockd/src/analysis/z.rs",
                "//! z\nfn g() -> u64 { std::time::Instant::now().elapsed().as_secs() }\n",
            ),
            // Exempt: comments, `#[cfg(test)]` items, test files, and other folders.
            (
                "dockd/src/link/ok.rs",
                "//! ok: never tokio\nfn f() {} // not Instant::now either\n#[cfg(test)]\nmod tests {\n    use tokio::time;\n    fn t() {\n        let _ = std::time::Instant::now();\n    }\n}\n",
            ),
            ("dockd/src/link/ok_tests.rs", "//! t\nuse tokio::time;\n"),
            ("dockd/src/pull/ok.rs", "//! p\nuse tokio::time;\n"),
            (
                "dockd/src/link/tokio_free.rs",
                "//! w\nfn tokio_like() {}\n",
            ),
        ],
    );
    let found = impure_code_in_link_and_analysis(&planted_root(&dir));
    assert_eq!(
        found,
        [
            "dockd/src/link/x.rs names `tokio`",
            "dockd/src/analysis/y.rs names `rusqlite`",
            "dockd/src/analysis/y.rs names `SystemTime`",
            "dockd/src/analysis/z.rs names `Instant::now`",
        ]
    );
}

#[test]
fn work_restrictions_are_named_only_by_their_store_check_views_and_app() {
    let found = work_restrictions_named_outside_their_files(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_upload_of_work_restrictions_is_reported() {
    let dir = planted(
        "tidy-work-restrictions",
        &[
            (
                "dockd/src/upload.rs",
                "//! u\nuse crate::analysis::work_restrictions::WorkRestriction;\n",
            ),
            (
                "dockd/src/cli/status.rs",
                "//! s\nconst Q: &str = \"SELECT * FROM Work_Restriction\";\n",
            ),
            (
                "dockd/src/views/roster.rs",
                "//! v\nuse crate::store::work_restrictions::WorkRestrictionChange;\n",
            ),
            (
                "dockd/src/pull/mod.rs",
                "//! p: never work_restriction in a comment\n#[cfg(test)]\nmod tests {\n    const T: &str = \"work_restriction\";\n}\n",
            ),
        ],
    );
    assert_eq!(
        work_restrictions_named_outside_their_files(&planted_root(&dir)),
        [
            "dockd/src/cli/status.rs names work restrictions",
            "dockd/src/upload.rs names work restrictions",
        ]
    );
}

#[test]
fn the_upload_core_is_pure_names_no_tag_or_label_and_never_skips_a_certificate_check() {
    let found = upload_rules_broken(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_label_clock_or_certificate_bypass_in_the_upload_is_reported() {
    let dir = planted(
        "tidy-upload",
        &[
            (
                "dockd/src/upload/produce.rs",
                "//! p\nfn f(k: &Pseudonyms, t: &WorkerTag) -> String { k.label(t) }\n",
            ),
            (
                "dockd/src/upload/batch.rs",
                "//! b\nfn now() { let _ = std::time::SystemTime::now(); }\n",
            ),
            (
                "dockd/src/uploader/https.rs",
                "//! h\nfn c(b: reqwest::ClientBuilder) { b.danger_accept_invalid_certs(true); }\n",
            ),
            (
                "dockd/src/uploader/s3.rs",
                "//! s: a label in a comment is fine\n#[cfg(test)]\nmod tests {\n    const L: &str = \"label\";\n}\n",
            ),
        ],
    );
    assert_eq!(
        upload_rules_broken(&planted_root(&dir)),
        [
            "dockd/src/upload/batch.rs names `SystemTime`",
            "dockd/src/upload/produce.rs names `label`",
            "dockd/src/uploader/https.rs names `danger_accept_invalid_certs`",
        ]
    );
}

/// Rule: a locked dock (`dockd::locked`) never writes, pulls or starts a transport.
fn locked_dock_reaches_for_wearables_or_the_writer(root: &Path) -> Vec<String> {
    never_names(
        root,
        &["dockd/src/locked.rs"],
        &[
            "open_for_writing",
            "Writer",
            "usb",
            "pull",
            "spawn_transports",
            "Database::prepare",
        ],
    )
}

#[test]
fn a_locked_dock_never_names_the_writer_a_transport_or_a_pull() {
    let found = locked_dock_reaches_for_wearables_or_the_writer(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_pull_in_the_locked_dock_is_reported() {
    let dir = planted(
        "tidy-locked",
        &[(
            "dockd/src/locked.rs",
            "//! l\nfn f(c: &Config) { let _ = crate::pull::run(c); }\n",
        )],
    );
    assert_eq!(
        locked_dock_reaches_for_wearables_or_the_writer(&planted_root(&dir)),
        ["dockd/src/locked.rs names `pull`"]
    );
}

#[test]
fn the_store_never_names_web_ui() {
    let found = web_ui_in_the_store(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_web_ui_import_in_the_store_is_reported() {
    let dir = planted(
        "tidy-store",
        &[
            (
                "dockd/src/store/roster.rs",
                "//! r\nuse web_ui::access::Role;\n",
            ),
            (
                "dockd/src/views/roster.rs",
                "//! v\nuse web_ui::access::Role;\n",
            ),
        ],
    );
    assert_eq!(
        web_ui_in_the_store(&planted_root(&dir)),
        ["dockd/src/store/roster.rs names `web_ui`"]
    );
}

#[test]
fn test_only_files_are_named_as_tests() {
    let found = test_files_without_test_names(&root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_planted_path_attribute_or_test_module_with_a_plain_name_is_reported() {
    let dir = planted(
        "tidy-test-names",
        &[
            (
                "dockd/src/analysis/movements.rs",
                "//! m\n#[cfg(test)]\n#[path = \"movement_recall.rs\"]\nmod recall;\n#[cfg(test)]\nmod recall_tests;\n",
            ),
            (
                "web-ui/src/lib.rs",
                "//! w\n#[cfg(test)]\npub(crate) mod helpers;\n#[cfg(test)]\nmod testing;\nmod view;\n",
            ),
        ],
    );
    assert_eq!(
        test_files_without_test_names(&planted_root(&dir)),
        [
            "dockd/src/analysis/movements.rs uses `#[path = \"movement_recall.rs\"]`: keep a module in the file its name says",
            "dockd/src/analysis/movements.rs declares the test-only `mod recall;`: name its file tests.rs, *_tests.rs or testing.rs",
            "web-ui/src/lib.rs declares the test-only `mod helpers;`: name its file tests.rs, *_tests.rs or testing.rs",
        ]
    );
}

#[test]
fn architecture_md_names_every_module() {
    let missing = modules_missing_from_architecture_md(&root());
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name these modules (spell each as a code span, e.g. in the \
         module index: `dockd::store::{{diag, site}}`):\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_planted_module_missing_from_architecture_md_is_reported() {
    let dir = planted(
        "tidy-map",
        &[
            (
                "ARCHITECTURE.md",
                "# map\n- `dockd::store` and `dockd::store::{diag, reader}`; `web_ui::pages::{status}`\n- `store::site` is not a full path\n",
            ),
            ("dockd/src/lib.rs", "//! l\n"),
            ("dockd/src/store/mod.rs", "//! s\n"),
            ("dockd/src/store/diag.rs", "//! d\n"),
            ("dockd/src/store/reader.rs", "//! r\n"),
            ("dockd/src/store/site.rs", "//! s\n"),
            ("dockd/src/store/tests.rs", "//! t\n"),
            ("web-ui/src/pages/mod.rs", "//! p\n"),
            ("web-ui/src/pages/status.rs", "//! p\n"),
            ("diagnostics/src/gps/client.rs", "//! g\n"),
        ],
    );
    assert_eq!(
        modules_missing_from_architecture_md(&planted_root(&dir)),
        [
            "dockd::store::site",
            "web_ui::pages",
            "diagnostics::gps::client"
        ]
    );
}

/// The test data the repository carries (`tests/data`), and where each part comes from in the
/// wearable team's `../shared`.
const COPIED_DATA: [(&str, &str); 2] = [
    ("tests/data/protocol-vectors", "protocol-vectors"),
    ("tests/data/gps", "data/gps"),
];

/// Rule: every file of `tests/data` is byte-identical to its original under `shared`, and every
/// original is copied. `Ok(n)`: n files compared.
fn test_data_matches_shared(root: &Path, shared: &Path) -> Result<usize, Vec<String>> {
    let mut differ = Vec::new();
    let mut compared = 0;
    for (copy, original) in COPIED_DATA {
        let names = |dir: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names
        };
        let (copy, original) = (root.join(copy), shared.join(original));
        let copied = names(&copy);
        for name in names(&original) {
            if !copied.contains(&name) {
                differ.push(format!(
                    "{} is not copied",
                    shown(shared, &original.join(&name))
                ));
            }
        }
        for name in copied {
            let theirs = std::fs::read(original.join(&name));
            let ours = std::fs::read(copy.join(&name)).unwrap();
            match theirs {
                Ok(theirs) if theirs == ours => compared += 1,
                Ok(_) => differ.push(format!("{} differs", shown(root, &copy.join(&name)))),
                Err(_) => differ.push(format!(
                    "{} has no original in ../shared",
                    shown(root, &copy.join(&name))
                )),
            }
        }
    }
    if differ.is_empty() {
        Ok(compared)
    } else {
        Err(differ)
    }
}

#[test]
fn the_test_data_is_a_byte_identical_copy_of_shared_when_it_is_beside_the_repository() {
    let root = root();
    let shared = root.join("../shared");
    if !shared.join("protocol-vectors").is_dir() {
        eprintln!(
            "../shared is absent beside the repository: nothing was compared with tests/data"
        );
        return;
    }
    let compared = test_data_matches_shared(&root, &shared).unwrap_or_else(|differ| {
        panic!("tests/data is not a copy of ../shared: {differ:#?}");
    });
    eprintln!("tests/data: compared {compared} files with ../shared, all byte-identical");
    assert!(compared >= 16, "compared only {compared} files");
}

#[test]
fn a_changed_or_missing_copy_of_the_test_data_is_reported() {
    let dir = planted(
        "tidy-data",
        &[
            ("repo/tests/data/protocol-vectors/frames.json", "{}"),
            ("repo/tests/data/protocol-vectors/segment-small.bin", "AB"),
            ("repo/tests/data/gps/extra.log", "x"),
            ("shared/protocol-vectors/frames.json", "{}"),
            ("shared/protocol-vectors/segment-small.bin", "AC"),
            ("shared/protocol-vectors/segment-noclock.bin", "N"),
        ],
    );
    assert_eq!(
        test_data_matches_shared(&dir.join("repo"), &dir.join("shared")),
        Err(vec![
            "protocol-vectors/segment-noclock.bin is not copied".to_owned(),
            "tests/data/protocol-vectors/segment-small.bin differs".to_owned(),
            "tests/data/gps/extra.log has no original in ../shared".to_owned(),
        ])
    );
    std::fs::write(
        dir.join("repo/tests/data/protocol-vectors/segment-small.bin"),
        "AC",
    )
    .unwrap();
    std::fs::write(
        dir.join("repo/tests/data/protocol-vectors/segment-noclock.bin"),
        "N",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("shared/data/gps")).unwrap();
    std::fs::write(dir.join("shared/data/gps/extra.log"), "x").unwrap();
    assert_eq!(
        test_data_matches_shared(&dir.join("repo"), &dir.join("shared")),
        Ok(4)
    );
}
