//! The fetch against a real HTTPS release server (`receivers::ReleaseServer`, TLS from a test CA)
//! serving releases the `ReleaseKit` builds and signs with the test key: a good release, and each
//! attack on the download refused with its reason, the target folder holding afterwards exactly
//! what it held before. The manifest is judged by the real `manifest::judge` on the way.

use std::path::{Path, PathBuf};

use receivers::ConnectProxy;
use receivers::releases::{self, Attack, ReleaseKit, ReleaseServer, Serve};

use super::*;
use crate::update::keys;
use crate::update::manifest::{self, Rejected, Verdict, Version};

const VERSION: &str = "9.9.9";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-fetch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small stand-in for a dockd binary: a few KiB that do not compress to nothing.
fn fake_binary() -> Vec<u8> {
    let mut bytes = b"\x7fELF fake dockd for the fetch tests\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..6000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x & 0xff) as u8);
    }
    bytes
}

/// A release built by `kit` and served; the folder to fetch into (holding one file of its own);
/// a fetcher trusting the server's CA.
struct Setup {
    dir: PathBuf,
    server: ReleaseServer,
    into: PathBuf,
    fetcher: Fetcher,
    release: releases::Release,
}

async fn start(name: &str, kit: ReleaseKit) -> Setup {
    let dir = temp_dir(name);
    let release = kit.build(&dir.join("release")).unwrap();
    let server = ReleaseServer::start(&dir.join("release"), &dir.join("tls"))
        .await
        .unwrap();
    let into = dir.join("into");
    std::fs::create_dir_all(&into).unwrap();
    std::fs::write(into.join("held-before"), b"kept").unwrap();
    let fetcher = Fetcher::new(&source(&server, None)).unwrap();
    Setup {
        dir,
        server,
        into,
        fetcher,
        release,
    }
}

fn source(server: &ReleaseServer, proxy: Option<String>) -> Source {
    Source {
        manifest_url: server.manifest_url(),
        ca_file: Some(server.ca.ca_pem_path.clone()),
        proxy,
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The manifest fetched and judged as the dock judges it: the asset it offers.
async fn offered(setup: &Setup) -> Result<Asset, Rejected> {
    let signed = setup.fetcher.manifest().await.unwrap();
    match manifest::judge(
        &signed.bytes,
        &signed.signature,
        &keys::trusted(),
        crate::version::current(),
        std::env::consts::ARCH,
        now_ms(),
    )? {
        Verdict::Offer { version, asset } => {
            assert_eq!(version, VERSION.parse::<Version>().unwrap());
            Ok(asset)
        }
        Verdict::UpToDate => panic!("the test release is not newer than the running one"),
    }
}

/// The file names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Fetches the offered release, expecting a refusal; asserts the folder is as it was.
async fn refused(setup: &Setup) -> FetchError {
    let asset = offered(setup).await.unwrap();
    let before = listing(&setup.into);
    let error = setup
        .fetcher
        .release(&asset, &setup.into, &keys::trusted())
        .await
        .unwrap_err();
    assert_eq!(listing(&setup.into), before, "{error}");
    assert_eq!(
        std::fs::read(setup.into.join("held-before")).unwrap(),
        b"kept"
    );
    error
}

#[tokio::test]
async fn a_good_release_is_fetched_checked_and_its_binary_is_the_signed_one() {
    let binary = fake_binary();
    let setup = start("good", ReleaseKit::new(&binary, VERSION)).await;
    let asset = offered(&setup).await.unwrap();
    assert_eq!(asset.name, setup.release.asset_name);
    assert_eq!(asset.sha256, setup.release.archive_sha256);
    assert_eq!(asset.size, setup.release.archive_size);
    let fetched = setup
        .fetcher
        .release(&asset, &setup.into, &keys::trusted())
        .await
        .unwrap();
    assert_eq!(fetched.archive, setup.into.join(&asset.name));
    assert_eq!(fetched.binary, setup.into.join("dockd"));
    assert_eq!(std::fs::read(&fetched.binary).unwrap(), binary);
    assert_eq!(
        std::fs::read(&fetched.archive).unwrap(),
        std::fs::read(&setup.release.archive).unwrap()
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&fetched.binary)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    // Nothing else: the staging folder is gone.
    assert_eq!(
        listing(&setup.into),
        ["dockd", asset.name.as_str(), "held-before"]
    );
    let paths: Vec<String> = setup
        .server
        .requests()
        .into_iter()
        .map(|served| served.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/manifest.json".to_owned(),
            "/manifest.json.sig".to_owned(),
            format!("/{}", asset.name)
        ]
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test]
async fn an_archive_whose_sha256_is_not_the_manifests_is_refused_and_nothing_is_left() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::WrongChecksum);
    let setup = start("checksum", kit).await;
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::Checksum { .. }), "{error}");
    assert!(
        error.to_string().contains("not the signed release"),
        "{error}"
    );
}

#[tokio::test]
async fn another_releases_archive_under_this_releases_name_is_refused_by_its_checksum() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::SwappedArchive {
        other_version: "9.9.8".to_owned(),
    });
    let setup = start("swapped", kit).await;
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::Checksum { .. }), "{error}");
}

#[tokio::test]
async fn an_endless_download_is_stopped_one_byte_past_the_announced_size() {
    let setup = start("endless", ReleaseKit::new(&fake_binary(), VERSION)).await;
    setup
        .server
        .serve(&setup.release.asset_name, Serve::Endless);
    let size = std::fs::metadata(&setup.release.archive).unwrap().len();
    let error = refused(&setup).await;
    match &error {
        FetchError::TooLarge { limit, .. } => assert_eq!(*limit, size),
        other => panic!("not TooLarge: {other}"),
    }
    assert!(
        error.to_string().contains("the download was stopped"),
        "{error}"
    );
}

#[tokio::test]
async fn an_archive_larger_than_announced_is_refused_before_its_body_is_kept() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::Oversize);
    let setup = start("oversize", kit).await;
    let size = std::fs::metadata(&setup.release.archive).unwrap().len();
    let error = refused(&setup).await;
    match &error {
        FetchError::TooLarge { limit, .. } => assert_eq!(*limit, size / 2),
        other => panic!("not TooLarge: {other}"),
    }
    // A server announcing the right length but sending more is cut at that length: the extra
    // bytes are never kept, and what was read is checked like any download.
    setup.server.serve(
        &setup.release.asset_name,
        Serve::WrongLength {
            announced: size / 2,
        },
    );
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::Checksum { .. }), "{error}");
}

#[tokio::test]
async fn a_download_cut_short_or_shorter_than_announced_is_refused_as_truncated() {
    let setup = start("truncated", ReleaseKit::new(&fake_binary(), VERSION)).await;
    let size = std::fs::metadata(&setup.release.archive).unwrap().len();
    // The connection closed halfway through the announced length.
    setup.server.serve(
        &setup.release.asset_name,
        Serve::CutShort { after: size / 2 },
    );
    match refused(&setup).await {
        FetchError::Truncated { got, want, .. } => {
            assert_eq!(got, size / 2);
            assert_eq!(want, size);
        }
        other => panic!("not Truncated: {other}"),
    }
    // A Content-Length larger than the body sent.
    setup.server.serve(
        &setup.release.asset_name,
        Serve::WrongLength {
            announced: size + 10,
        },
    );
    let error = refused(&setup).await;
    // Announced more than the manifest allows: refused before reading.
    assert!(matches!(error, FetchError::TooLarge { .. }), "{error}");

    // The file itself cut in half, served whole as it is.
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::Truncated);
    let setup = start("truncated-file", kit).await;
    let half = std::fs::metadata(&setup.release.archive).unwrap().len();
    let error = refused(&setup).await;
    assert!(
        matches!(error, FetchError::Truncated { got, want, .. } if got == half && want > got),
        "{error}"
    );
    assert!(error.to_string().contains("ended after"), "{error}");
    // The same half announced as the whole: the connection closes before the announced length.
    let whole = offered(&setup).await.unwrap().size;
    setup.server.serve(
        &setup.release.asset_name,
        Serve::WrongLength { announced: whole },
    );
    let error = refused(&setup).await;
    assert!(
        matches!(error, FetchError::Truncated { got, want, .. } if got == half && want == whole),
        "{error}"
    );
}

#[tokio::test]
async fn an_unsigned_archive_is_refused_as_unsigned() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::UnsignedArchive);
    let setup = start("unsigned", kit).await;
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::Unsigned { .. }), "{error}");
    assert!(
        error.to_string().contains("no zipsign signature"),
        "{error}"
    );
}

#[tokio::test]
async fn an_archive_signed_by_an_unknown_key_is_refused() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::ArchiveSignedByAnotherKey);
    let setup = start("stranger", kit).await;
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::BadSignature { .. }), "{error}");
}

#[tokio::test]
async fn a_binary_whose_sha256_is_not_the_manifests_is_refused_after_a_good_signature() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::WrongBinaryChecksum);
    let setup = start("binary-checksum", kit).await;
    let error = refused(&setup).await;
    assert!(
        matches!(error, FetchError::BinaryChecksum { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn an_empty_key_set_fetches_nothing_at_all() {
    let setup = start("no-keys", ReleaseKit::new(&fake_binary(), VERSION)).await;
    let asset = offered(&setup).await.unwrap();
    let before = listing(&setup.into);
    let error = setup
        .fetcher
        .release(&asset, &setup.into, &[])
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::NoKeys), "{error}");
    assert_eq!(listing(&setup.into), before);
    // The archive was never asked for.
    assert_eq!(setup.server.requests().len(), 2);
    // self_update itself would have passed it: its check with no keys is Ok.
    assert!(self_update::verify_signature(&setup.release.archive, &[]).is_ok());
}

#[test]
fn an_http_url_is_refused_with_a_clear_reason() {
    let error = Fetcher::new(&Source {
        manifest_url: "http://releases.example/manifest.json".to_owned(),
        ca_file: None,
        proxy: None,
    })
    .unwrap_err();
    assert!(matches!(error, FetchError::NotHttps { .. }), "{error}");
    assert!(error.to_string().contains("HTTPS only"), "{error}");
    let error = Fetcher::new(&Source {
        manifest_url: "releases.example/manifest.json".to_owned(),
        ca_file: None,
        proxy: None,
    })
    .unwrap_err();
    assert!(matches!(error, FetchError::BadUrl { .. }), "{error}");
}

#[tokio::test]
async fn the_proxy_is_honoured_through_a_connect_tunnel() {
    let binary = fake_binary();
    let setup = start("proxy", ReleaseKit::new(&binary, VERSION)).await;
    let proxy = ConnectProxy::start().await.unwrap();
    let fetcher = Fetcher::new(&source(&setup.server, Some(proxy.url.clone()))).unwrap();
    let signed = fetcher.manifest().await.unwrap();
    assert_eq!(signed.bytes, setup.release.manifest_bytes);
    let asset = offered(&setup).await.unwrap();
    let fetched = fetcher
        .release(&asset, &setup.into, &keys::trusted())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&fetched.binary).unwrap(), binary);
    let connects = proxy.connects();
    assert!(!connects.is_empty());
    assert!(
        connects.iter().all(|c| *c == setup.server.addr.to_string()),
        "{connects:?}"
    );
}

#[tokio::test]
async fn a_server_outside_the_trusted_roots_is_a_tls_failure() {
    assert!(
        Path::new(crate::https_client::DEBIAN_CA_BUNDLE).is_file(),
        "Debian's CA bundle is missing: apt-get install ca-certificates"
    );
    let setup = start("untrusted", ReleaseKit::new(&fake_binary(), VERSION)).await;
    let fetcher = Fetcher::new(&Source {
        manifest_url: setup.server.manifest_url(),
        ca_file: None,
        proxy: None,
    })
    .unwrap();
    let error = fetcher.manifest().await.unwrap_err();
    let FetchError::Tls { why } = &error else {
        panic!("not a TLS failure: {error}");
    };
    assert!(why.contains("not signed by an authority"), "{why}");
    assert!(why.contains("update.ca_file"), "{why}");
    assert!(setup.server.requests().is_empty());
}

#[tokio::test]
async fn a_manifest_or_signature_over_64_kib_or_missing_is_refused() {
    let setup = start("manifest-size", ReleaseKit::new(&fake_binary(), VERSION)).await;
    // An endless manifest stops at the cap.
    setup.server.serve("manifest.json", Serve::Endless);
    let error = setup.fetcher.manifest().await.unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::TooLarge {
                limit: MANIFEST_MAX_BYTES,
                ..
            }
        ),
        "{error}"
    );
    setup.server.serve("manifest.json", Serve::Normal);
    setup.server.serve("manifest.json.sig", Serve::Endless);
    let error = setup.fetcher.manifest().await.unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::TooLarge {
                limit: MANIFEST_MAX_BYTES,
                ..
            }
        ),
        "{error}"
    );
    // No signature beside the manifest: the server's 404, named with its URL.
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::NoManifestSignature);
    let setup = start("no-sig", kit).await;
    let error = setup.fetcher.manifest().await.unwrap_err();
    assert!(
        matches!(error, FetchError::Http { status: 404, ref url } if url.ends_with("manifest.json.sig")),
        "{error}"
    );
}

#[tokio::test]
async fn every_manifest_attack_the_kit_builds_is_refused_by_the_judge_after_a_real_fetch() {
    let binary = fake_binary();
    type Case = (&'static str, ReleaseKit, fn(&Rejected) -> bool);
    let cases: Vec<Case> = vec![
        (
            "other-key",
            ReleaseKit::new(&binary, VERSION).attack(Attack::ManifestSignedByAnotherKey),
            |r| matches!(r, Rejected::UnknownKey(_)),
        ),
        (
            "changed",
            ReleaseKit::new(&binary, VERSION).attack(Attack::ManifestChangedAfterSigning),
            |r| matches!(r, Rejected::BadSignature),
        ),
        (
            "expired",
            ReleaseKit::new(&binary, VERSION).attack(Attack::Expired),
            |r| matches!(r, Rejected::Expired { .. }),
        ),
        ("rollback", ReleaseKit::new(&binary, "0.0.1"), |r| {
            matches!(r, Rejected::Rollback { .. })
        }),
        (
            "minimum",
            ReleaseKit::new(&binary, VERSION).min_version("9.0.0"),
            |r| matches!(r, Rejected::BelowMinimum { .. }),
        ),
        (
            "mix",
            ReleaseKit::new(&binary, VERSION).attack(Attack::MixAndMatch {
                other_version: "9.9.8".to_owned(),
            }),
            |r| matches!(r, Rejected::MixAndMatch { .. }),
        ),
    ];
    for (name, kit, expected) in cases {
        let setup = start(name, kit).await;
        let rejected = offered(&setup).await.unwrap_err();
        assert!(expected(&rejected), "{name}: {rejected}");
    }
}

#[tokio::test]
async fn a_release_as_large_as_a_real_dockd_is_fetched_whole_and_byte_identical() {
    // This very test binary: a debug dockd library, some hundreds of MB, as a release carries.
    let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert!(binary.len() > 50 << 20, "{} bytes", binary.len());
    let started = std::time::Instant::now();
    let setup = start("large", ReleaseKit::new(&binary, VERSION)).await;
    let built = started.elapsed();
    let asset = offered(&setup).await.unwrap();
    let fetched = setup
        .fetcher
        .release(&asset, &setup.into, &keys::trusted())
        .await
        .unwrap();
    let fetch = started.elapsed() - built;
    assert!(std::fs::read(&fetched.binary).unwrap() == binary);
    eprintln!(
        "A {} MB binary: release built in {built:?}, fetched and checked in {fetch:?}.",
        binary.len() >> 20
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test]
async fn a_download_that_stalls_is_given_up_after_the_read_timeout_as_truncated() {
    let setup = start("stall", ReleaseKit::new(&fake_binary(), VERSION)).await;
    let size = std::fs::metadata(&setup.release.archive).unwrap().len();
    setup
        .server
        .serve(&setup.release.asset_name, Serve::Stall { after: size / 2 });
    let timeouts = Timeouts {
        read: std::time::Duration::from_millis(500),
        ..Timeouts::default()
    };
    let fetcher = Fetcher::with_timeouts(&source(&setup.server, None), timeouts).unwrap();
    let asset = offered(&setup).await.unwrap();
    let before = listing(&setup.into);
    let started = std::time::Instant::now();
    let error = fetcher
        .release(&asset, &setup.into, &keys::trusted())
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        matches!(error, FetchError::Truncated { got, want, .. } if got == size / 2 && want == size),
        "{error}"
    );
    assert_eq!(listing(&setup.into), before);
}

#[tokio::test]
async fn a_signed_archive_without_dockd_in_it_is_refused() {
    let kit = ReleaseKit::new(&fake_binary(), VERSION).attack(Attack::ArchiveWithoutBinary);
    let setup = start("no-binary", kit).await;
    let error = refused(&setup).await;
    assert!(matches!(error, FetchError::NoBinary { .. }), "{error}");
    assert!(
        error.to_string().contains("no regular file `dockd`"),
        "{error}"
    );
}

#[test]
fn the_staging_folders_a_cut_off_fetch_left_are_swept_and_nothing_else() {
    let into = temp_dir("sweep");
    std::fs::create_dir_all(into.join(".fetch-4242-0")).unwrap();
    std::fs::write(
        into.join(".fetch-4242-0/dockd-9.9.9-x86_64.tar.gz"),
        b"half",
    )
    .unwrap();
    std::fs::write(into.join("dockd"), b"a slot's binary").unwrap();
    assert_eq!(sweep(&into).unwrap(), 1);
    assert_eq!(listing(&into), ["dockd"]);
    assert_eq!(sweep(&into).unwrap(), 0);
    assert_eq!(sweep(&into.join("absent")).unwrap(), 0);
}
