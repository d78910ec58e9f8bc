//! One check of the release server and one install into a slot: the thin I/O that joins the
//! fetch (`fetch`), the manifest's verdict (`manifest`) and the slots (`slots`), shared by the
//! daemon's updater and `dockd update`. It owns the order of the steps — verify the manifest
//! before any download, verify the download before it becomes a slot, fsync before the state
//! names it — and must never leave a slot the launcher would run that it did not verify, nor
//! touch the running binary.

use super::fetch::{Fetcher, SignedManifest, Source};
use super::keys;
use super::launcher::fail_point;
use super::manifest::{self, Verdict};
use super::slots::Slots;
use crate::config::UpdateConfig;

/// A manifest fetched and judged.
pub struct Checked {
    pub verdict: Verdict,
    pub manifest: SignedManifest,
    /// The client that fetched it, kept for the download (its CA file read once).
    fetcher: Fetcher,
}

fn source(update: &UpdateConfig) -> Source {
    Source {
        manifest_url: update.manifest_url.clone(),
        ca_file: update.ca_file.clone(),
        proxy: update.proxy.clone(),
    }
}

/// Fetches the signed manifest and judges it for this dock, now. Every refusal is a sentence
/// naming its reason.
pub async fn check(update: &UpdateConfig, now_ms: i64) -> Result<Checked, String> {
    let trusted = keys::trusted();
    if trusted.is_empty() {
        return Err(manifest::Rejected::NoKeys.to_string());
    }
    let fetcher = Fetcher::new(&source(update)).map_err(|e| e.to_string())?;
    let signed = fetcher.manifest().await.map_err(|e| e.to_string())?;
    fail_point("update-manifest-fetched");
    let verdict = manifest::judge(
        &signed.bytes,
        &signed.signature,
        &trusted,
        crate::version::current(),
        std::env::consts::ARCH,
        now_ms,
    )
    .map_err(|e| format!("the manifest was refused: {e}"))?;
    Ok(Checked {
        verdict,
        manifest: signed,
        fetcher,
    })
}

/// Downloads and verifies the offered release into a staging folder, then makes it a slot on
/// trial. Nothing the launcher would run exists until every check passed and the files are on
/// disk.
pub async fn install(
    slots: &Slots,
    checked: &Checked,
    now_ms: i64,
) -> Result<manifest::Version, String> {
    let Verdict::Offer { version, asset } = &checked.verdict else {
        return Err(format!("dockd {} is up to date", crate::version::text()));
    };
    let trusted = keys::trusted();
    let staging = slots
        .staging(&version.to_string())
        .map_err(|e| e.to_string())?;
    fail_point("update-staging-made");
    let fetched = checked.fetcher.release(asset, &staging, &trusted).await;
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(format!("the download of {version} was refused: {error}"));
        }
    };
    fail_point("update-downloaded");
    // The archive is not needed once its binary is out and verified.
    let _ = std::fs::remove_file(&fetched.archive);
    slots
        .install(
            *version,
            &staging,
            &checked.manifest.bytes,
            &checked.manifest.signature,
            now_ms,
        )
        .map_err(|e| e.to_string())?;
    fail_point("update-installed");
    Ok(*version)
}
