//! The slots proven: what a start runs from every state, durable state and events, and a slot
//! whose binary or manifest changed behind dockd's back refused.

use super::*;
use crate::update::keys;

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-slots-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const PACKAGED: Version = Version(1, 0, 0);

fn state(current: Option<&str>, trial: Option<(&str, u32)>) -> SlotState {
    SlotState {
        current: current.map(str::to_owned),
        trial: trial.map(|(version, starts_left)| Trial {
            version: version.to_owned(),
            starts_left,
            installed_ms: 0,
        }),
        failed: Vec::new(),
        previous: None,
    }
}

#[test]
fn a_start_runs_the_packaged_binary_a_confirmed_slot_a_trial_or_rolls_back_as_the_state_says() {
    assert_eq!(plan(&SlotState::default(), PACKAGED), Plan::Packaged);
    assert_eq!(
        plan(&state(Some("1.1.0"), None), PACKAGED),
        Plan::Slot {
            version: "1.1.0".into()
        }
    );
    assert_eq!(
        plan(&state(Some("1.1.0"), Some(("1.2.0", 2))), PACKAGED),
        Plan::Trial {
            version: "1.2.0".into()
        }
    );
    assert!(matches!(
        plan(&state(Some("1.1.0"), Some(("1.2.0", 0))), PACKAGED),
        Plan::RollBack { version, .. } if version == "1.2.0"
    ));
    // A .deb upgrade to 1.2.0 after a self-update to 1.1.0: the package wins and the slots go.
    assert_eq!(
        plan(&state(Some("1.1.0"), None), Version(1, 2, 0)),
        Plan::PackagedIsNewer {
            slots: vec!["1.1.0".into()]
        }
    );
    assert_eq!(
        plan(&state(Some("1.1.0"), Some(("1.2.0", 3))), Version(1, 2, 0)),
        Plan::PackagedIsNewer {
            slots: vec!["1.1.0".into(), "1.2.0".into()]
        }
    );
    // A trial older than the package but a newer confirmed slot: the slot runs.
    assert_eq!(
        plan(&state(Some("1.3.0"), Some(("1.0.0", 3))), Version(1, 2, 0)),
        Plan::Slot {
            version: "1.3.0".into()
        }
    );
}

#[test]
fn the_state_survives_a_reopen_and_an_unreadable_state_is_an_error_not_a_guess() {
    let dir = folder("state");
    let slots = Slots::new(&dir);
    assert_eq!(slots.state().unwrap(), SlotState::default());
    let saved = state(Some("1.1.0"), Some(("1.2.0", 3)));
    slots.save(&saved).unwrap();
    assert_eq!(Slots::new(&dir).state().unwrap(), saved);
    assert!(!dir.join("versions/state.json.tmp").exists());
    std::fs::write(dir.join("versions/state.json"), b"{\"current\": 7").unwrap();
    assert!(matches!(slots.state(), Err(SlotError::BadState { .. })));
}

#[test]
fn events_are_appended_in_order_and_a_torn_last_line_is_skipped() {
    let dir = folder("events");
    let slots = Slots::new(&dir);
    for (i, action) in ["installed", "trial", "confirmed"].into_iter().enumerate() {
        slots
            .record(&Event {
                at_ms: i as i64,
                action: action.into(),
                version: "1.2.0".into(),
                detail: String::new(),
            })
            .unwrap();
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("versions/events.jsonl"))
        .unwrap();
    file.write_all(b"{\"at_ms\": 9, \"act").unwrap();
    let actions: Vec<String> = slots.events().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["installed", "trial", "confirmed"]);
}

/// A slot of `version` holding `binary`, with a manifest signed by the test key.
fn signed_slot(slots: &Slots, version: &str, binary: &[u8]) {
    use aws_lc_rs::signature::Ed25519KeyPair;
    let staged = slots.staging(version).unwrap();
    std::fs::write(staged.join(BINARY), binary).unwrap();
    let digest = sha256_file(&staged.join(BINARY)).unwrap();
    let arch = std::env::consts::ARCH;
    let key = TrustedKey::new(keys::test_key::public());
    let manifest = serde_json::json!({
        "schema": 1, "version": version, "min_version": "0.0.0", "expires_ms": 1i64,
        "key_id": key.id,
        "assets": [{"name": format!("dockd-{version}-{arch}.tar.gz"), "arch": arch,
                    "sha256": "00".repeat(32), "size": 1, "binary_sha256": digest}],
    })
    .to_string();
    let pair = Ed25519KeyPair::from_seed_unchecked(&keys::test_key::SEED).unwrap();
    let signature = pair.sign(manifest.as_bytes());
    slots
        .install(
            version.parse().unwrap(),
            &staged,
            manifest.as_bytes(),
            signature.as_ref(),
            5,
        )
        .unwrap();
}

#[test]
fn an_installed_slot_is_on_trial_and_verifies_until_its_binary_changes_behind_dockds_back() {
    let dir = folder("verify");
    let slots = Slots::new(&dir);
    signed_slot(&slots, "1.2.0", b"the 1.2.0 binary");
    let state = slots.state().unwrap();
    assert_eq!(state.trial.as_ref().unwrap().version, "1.2.0");
    assert_eq!(state.trial.unwrap().starts_left, TRIAL_STARTS);
    assert!(!dir.join("versions/.staging-1.2.0").exists());
    let trusted = keys::trusted();
    let arch = std::env::consts::ARCH;
    let binary = slots.verified_binary("1.2.0", &trusted, arch).unwrap();
    assert_eq!(std::fs::read(&binary).unwrap(), b"the 1.2.0 binary");

    // Not trusted by a build with only the release key.
    let release_only = vec![trusted[0].clone()];
    assert!(slots.verified_binary("1.2.0", &release_only, arch).is_err());
    // A slot renamed to another version is refused.
    std::fs::rename(slots.slot("1.2.0"), slots.slot("1.3.0")).unwrap();
    let error = slots.verified_binary("1.3.0", &trusted, arch).unwrap_err();
    assert!(
        error.to_string().contains("manifest is of release 1.2.0"),
        "{error}"
    );
    std::fs::rename(slots.slot("1.3.0"), slots.slot("1.2.0")).unwrap();
    // One byte of the binary changed.
    std::fs::write(&binary, b"the 1.2.0 binarY").unwrap();
    let error = slots.verified_binary("1.2.0", &trusted, arch).unwrap_err();
    assert!(error.to_string().contains("SHA-256"), "{error}");
}

#[test]
fn pruning_keeps_the_named_slots_and_removes_the_rest_and_stale_staging() {
    let dir = folder("prune");
    let slots = Slots::new(&dir);
    for version in ["1.1.0", "1.2.0", "1.3.0"] {
        signed_slot(&slots, version, version.as_bytes());
    }
    slots.staging("1.4.0").unwrap();
    slots.prune(&["1.2.0", "1.3.0"]).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(slots.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["1.2.0", "1.3.0", "state.json"]);
}
