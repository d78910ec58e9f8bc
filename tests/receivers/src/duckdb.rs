//! DuckDB (PyPI `duckdb`, in `tests/run.sh`'s venv) as the fleet's query engine: runs one SQL
//! query in a folder and returns its rows as JSON objects. It owns calling the venv's python; it
//! must never install anything nor reach the network (DuckDB's network extensions cannot be
//! downloaded here: queries read objects from the S3 server's folder).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The version `tests/run.sh` installs.
pub const DUCKDB_VERSION: &str = "2.0.1";
/// Overrides which python (with `duckdb` importable) runs the queries.
pub const PYTHON_ENV: &str = "DOCKD_DUCKDB_PYTHON";

/// Runs the query given as the first argument; prints the rows as a JSON array of objects
/// (dates and other non-JSON values as strings) and the DuckDB version on stderr.
const RUNNER: &str = "
import json, sys
import duckdb
relation = duckdb.sql(sys.argv[1])
columns = relation.columns
rows = [dict(zip(columns, row)) for row in relation.fetchall()]
print(json.dumps(rows, default=str))
sys.stderr.write(duckdb.__version__)
";

/// Why a query could not be run.
#[derive(Debug, thiserror::Error)]
pub enum DuckDbError {
    #[error("no python at {0} (tests/run.sh makes the venv with duckdb)")]
    Missing(PathBuf),
    #[error("cannot run python: {0}")]
    Io(#[from] std::io::Error),
    #[error("the query failed: {0}")]
    Query(String),
    #[error("duckdb is {found}, not {DUCKDB_VERSION} (tests/run.sh installs it)")]
    WrongVersion { found: String },
    #[error("the query's output is not JSON rows: {0}")]
    Output(#[from] serde_json::Error),
}

/// `$DOCKD_DUCKDB_PYTHON`, else `~/.cache/dockd-ci/venv/bin/python`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os(PYTHON_ENV) {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(".cache/dockd-ci/venv/bin/python")
}

/// Runs `sql` with `dir` as the working folder (relative globs in `read_json_auto` start there).
pub fn query(dir: &Path, sql: &str) -> Result<Vec<serde_json::Map<String, Value>>, DuckDbError> {
    let python = python();
    if !python.is_file() {
        return Err(DuckDbError::Missing(python));
    }
    let output = Command::new(&python)
        .args(["-c", RUNNER, sql])
        .current_dir(dir)
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !output.status.success() {
        return Err(DuckDbError::Query(stderr));
    }
    if stderr != DUCKDB_VERSION {
        return Err(DuckDbError::WrongVersion { found: stderr });
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}
