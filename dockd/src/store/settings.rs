//! The store's side of the page's settings (key/value `setting` rows, the alert thresholds among
//! them), of what each wearable confirmed of those thresholds, and of the pseudonym keys the dock
//! has run with (their public ids, audited when they change). It owns that SQL; it must never hold
//! anything about a worker, nor a key's bytes.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError};
use crate::analysis::nuisance::{self, Baseline, NuisanceTotals};
use crate::link::WearableConfig;

/// `setting` key of the alert thresholds pushed to every wearable (JSON `WearableConfig`).
pub const THRESHOLDS: &str = "thresholds";
/// `setting` key of the silent baseline's length in days (JSON number; absent or 0: off).
pub const SILENT_BASELINE: &str = "silent_baseline_days";

/// `setting` key of the pseudonym keys the dock has run with (JSON list of [`KeyUse`], oldest
/// first; the last is the one in use): a later deletion is sent under every one of them.
pub const PSEUDONYM_KEYS: &str = "pseudonym_keys";
/// Who the audit trail names for a pseudonym key change: the daemon at its start.
pub const KEY_CHANGE_AUDITOR: &str = "dockd (start)";

/// A period the dock ran with one pseudonym key, by its public id (never the key).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyUse {
    pub key_id: String,
    /// `site` or `dock`.
    pub source: String,
    /// When the daemon first started with it, Unix ms.
    pub since_ms: i64,
}

/// One change to the page's settings or a wearable's threshold confirmation, applied by
/// `Writer::settings` in its own savepoint.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingChange {
    /// Sets a `setting` row (`value` is JSON text).
    Put { key: String, value: String },
    /// What the wearable's GET_CONFIG answered after the dock pushed thresholds (`confirmed` is
    /// `None` and `problem` says why when it refused or answered something else).
    ConfigConfirmed {
        serial: String,
        confirmed: Option<WearableConfig>,
        at_ms: i64,
        problem: Option<String>,
    },
    /// The daemon starts with this pseudonym key: recorded when it differs from the last one, with
    /// an audit line "pseudonym key changed from … to …" when there was one before.
    KeyInUse(KeyUse),
}

/// A wearable's latest threshold confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigState {
    pub serial: String,
    pub confirmed: Option<WearableConfig>,
    pub at_ms: Option<i64>,
    pub problem: Option<String>,
}

/// Applies one change inside the writer's savepoint.
pub(super) fn apply(tx: &Transaction<'_>, change: &SettingChange) -> Result<(), StoreError> {
    match change {
        SettingChange::Put { key, value } => put(tx, key, value),
        SettingChange::ConfigConfirmed {
            serial,
            confirmed,
            at_ms,
            problem,
        } => {
            let confirmed = confirmed
                .map(|config| serde_json::to_string(&config))
                .transpose()
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            tx.execute(
                "INSERT INTO wearable_config (serial, confirmed, confirmed_ms, problem)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (serial) DO UPDATE SET confirmed = excluded.confirmed,
                    confirmed_ms = excluded.confirmed_ms, problem = excluded.problem",
                params![serial, confirmed, at_ms, problem],
            )?;
            Ok(())
        }
        SettingChange::KeyInUse(key) => {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT value FROM setting WHERE key = ?1",
                    [PSEUDONYM_KEYS],
                    |row| row.get(0),
                )
                .optional()?;
            let mut used = parse_key_uses(stored.as_deref())?;
            let Some(change) = key_change(used.last(), key) else {
                return Ok(());
            };
            used.push(key.clone());
            let value = serde_json::to_string(&used)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            put(tx, PSEUDONYM_KEYS, &value)?;
            if used.len() > 1 {
                super::accounts::append_audit(
                    tx,
                    &[super::accounts::AuditEntry {
                        at_ms: key.since_ms,
                        user: KEY_CHANGE_AUDITOR.to_owned(),
                        action: "change".to_owned(),
                        subject: change,
                    }],
                )?;
            }
            Ok(())
        }
    }
}

/// Sets the `setting` row `key` to `value` (JSON text).
fn put(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO setting (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// What starting with `now` changes after `last`, in words ("pseudonym key changed from
/// 0a1b… (dock) to 2c3d… (site)", or "… first used" for the first), or `None` when it is the same
/// key from the same source.
pub fn key_change(last: Option<&KeyUse>, now: &KeyUse) -> Option<String> {
    match last {
        Some(last) if last.key_id == now.key_id && last.source == now.source => None,
        Some(last) => Some(format!(
            "pseudonym key changed from {} ({}) to {} ({})",
            last.key_id, last.source, now.key_id, now.source
        )),
        None => Some(format!(
            "pseudonym key {} ({}) first used",
            now.key_id, now.source
        )),
    }
}

fn parse_key_uses(stored: Option<&str>) -> Result<Vec<KeyUse>, StoreError> {
    stored.map_or(Ok(Vec::new()), |text| {
        serde_json::from_str(text)
            .map_err(|error| StoreError::Corrupt(format!("setting {PSEUDONYM_KEYS}: {error}")))
    })
}

impl Reader {
    /// The pseudonym keys the dock has run with, oldest first; the last is the one in use.
    pub fn pseudonym_keys(&self) -> Result<Vec<KeyUse>, StoreError> {
        parse_key_uses(self.setting(PSEUDONYM_KEYS)?.as_deref())
    }

    /// The `setting` row `key` (JSON text), if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached("SELECT value FROM setting WHERE key = ?1")?
                .query_row([key], |row| row.get(0))
                .optional()
        })
    }

    /// The alert thresholds the admin set (setting `thresholds`), if any and if they parse.
    pub fn thresholds(&self) -> Result<Option<WearableConfig>, StoreError> {
        Ok(match self.setting(THRESHOLDS)? {
            None => None,
            Some(json) => match serde_json::from_str::<WearableConfig>(&json) {
                Ok(config) => Some(config),
                Err(error) => {
                    tracing::warn!(error = %error, "The thresholds setting does not parse; wearables keep their own.");
                    None
                }
            },
        })
    }

    /// The silent baseline's length in days (setting `silent_baseline_days`); 0 (off) when unset
    /// or when the value does not parse.
    pub fn silent_baseline_days(&self) -> Result<u32, StoreError> {
        Ok(match self.setting(SILENT_BASELINE)? {
            None => 0,
            Some(json) => serde_json::from_str::<u32>(&json).unwrap_or_else(|_| {
                tracing::warn!("The silent baseline setting does not parse; the baseline is off.");
                0
            }),
        })
    }

    /// The site's nuisance figures over the window ending at `now_ms`
    /// (`analysis::nuisance::WINDOW_DAYS`), every wearable's shift reports summed.
    pub fn site_nuisance(&self, now_ms: i64) -> Result<NuisanceTotals, StoreError> {
        let mut totals = NuisanceTotals::default();
        for row in self.nuisance_rows(nuisance::window_start(now_ms))? {
            totals.add_shift(row.wear_s, &row.alerts);
        }
        Ok(totals)
    }

    /// Where each roster worker (`None`: none) stands in the silent baseline at `now_ms`, and
    /// the thresholds their wearable is ordered to run (`analysis::nuisance::ordered_config`;
    /// the site's figures are read once, and only when some baseline is over).
    pub fn ordered_configs(
        &self,
        workers: &[Option<i64>],
        now_ms: i64,
    ) -> Result<Vec<(Baseline, Option<WearableConfig>)>, StoreError> {
        let site = self.thresholds()?;
        let days = self.silent_baseline_days()?;
        let mut totals: Option<NuisanceTotals> = None;
        let mut out = Vec::with_capacity(workers.len());
        for worker in workers {
            let baseline = self.baseline(*worker, days, now_ms)?;
            if matches!(baseline, Baseline::Over { .. }) && totals.is_none() {
                totals = Some(self.site_nuisance(now_ms)?);
            }
            let config = nuisance::ordered_config(site, baseline, |current| {
                let totals = totals.as_ref()?;
                nuisance::suggest(totals, &current).applied_to(current)
            });
            out.push((baseline, config));
        }
        Ok(out)
    }

    /// Every wearable's latest threshold confirmation.
    pub fn config_states(&self) -> Result<Vec<ConfigState>, StoreError> {
        let rows = self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT serial, confirmed, confirmed_ms, problem FROM wearable_config ORDER BY serial",
            )?;
            let rows = query.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .map(|(serial, confirmed, at_ms, problem)| {
                let confirmed = confirmed.and_then(|json| {
                    serde_json::from_str(&json)
                        .inspect_err(|error| {
                            tracing::warn!(%serial, error = %error, "A stored threshold confirmation does not parse.");
                        })
                        .ok()
                });
                ConfigState {
                    serial,
                    confirmed,
                    at_ms,
                    problem,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::roster::DockingOrders;
    use crate::store::testing::Scratch;

    fn key(key_id: &str, source: &str, since_ms: i64) -> KeyUse {
        KeyUse {
            key_id: key_id.to_owned(),
            source: source.to_owned(),
            since_ms,
        }
    }

    #[tokio::test]
    async fn a_changed_pseudonym_key_is_recorded_and_audited_and_every_key_used_is_kept() {
        let store = Scratch::new("pseudonym-keys");
        assert_eq!(store.reader.pseudonym_keys().unwrap(), Vec::new());
        let first = key("0a1b2c3d4e5f6071", "dock", 1_000);
        store
            .settings(SettingChange::KeyInUse(first.clone()))
            .await
            .unwrap();
        // The same key again at the next start: nothing new, no audit line.
        store
            .settings(SettingChange::KeyInUse(key(
                "0a1b2c3d4e5f6071",
                "dock",
                2_000,
            )))
            .await
            .unwrap();
        assert_eq!(store.reader.pseudonym_keys().unwrap(), vec![first.clone()]);
        assert!(store.reader.audit_page(None, 10).unwrap().is_empty());

        let site = key("30870ae091a5b9f9", "site", 3_000);
        store
            .settings(SettingChange::KeyInUse(site.clone()))
            .await
            .unwrap();
        assert_eq!(
            store.reader.pseudonym_keys().unwrap(),
            vec![first.clone(), site.clone()]
        );
        let audit = store.reader.audit_page(None, 10).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(
            audit[0].subject,
            "pseudonym key changed from 0a1b2c3d4e5f6071 (dock) to 30870ae091a5b9f9 (site)"
        );
        assert_eq!(
            (
                audit[0].user.as_str(),
                audit[0].action.as_str(),
                audit[0].at_ms
            ),
            (KEY_CHANGE_AUDITOR, "change", 3_000)
        );
        // Back to the first key: a change again, and its id is listed twice (one per period).
        store
            .settings(SettingChange::KeyInUse(key(
                "0a1b2c3d4e5f6071",
                "dock",
                4_000,
            )))
            .await
            .unwrap();
        assert_eq!(store.reader.pseudonym_keys().unwrap().len(), 3);
        assert_eq!(store.reader.audit_page(None, 10).unwrap().len(), 2);
        store.close();
    }

    #[test]
    fn a_key_change_is_worded_with_ids_and_sources_only() {
        let dock = key("0a1b2c3d4e5f6071", "dock", 0);
        assert_eq!(key_change(Some(&dock), &dock), None);
        assert_eq!(
            key_change(None, &dock).as_deref(),
            Some("pseudonym key 0a1b2c3d4e5f6071 (dock) first used")
        );
        // The same id from another source is a change too (a dock key copied to be the site's).
        assert!(key_change(Some(&dock), &key("0a1b2c3d4e5f6071", "site", 0)).is_some());
    }

    #[tokio::test]
    async fn thresholds_in_the_settings_become_docking_orders_and_a_malformed_value_orders_nothing()
    {
        let store = Scratch::new("site-thresholds");
        assert_eq!(store.reader.setting(THRESHOLDS).unwrap(), None);
        assert_eq!(
            store.reader.docking_orders("KW-1", 0).unwrap(),
            DockingOrders::default()
        );
        let strict = WearableConfig {
            bend_alert: 3000,
            bend_hold_ms: 500,
            twist_alert: 400,
            haptics: false,
            rate_hz: 25,
        };
        store
            .settings(SettingChange::Put {
                key: THRESHOLDS.into(),
                value: serde_json::to_string(&strict).unwrap(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.docking_orders("KW-1", 0).unwrap().config,
            Some(strict)
        );

        store
            .settings(SettingChange::Put {
                key: THRESHOLDS.into(),
                value: r#"{"bend_alert": "steep"}"#.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.setting(THRESHOLDS).unwrap().as_deref(),
            Some(r#"{"bend_alert": "steep"}"#)
        );
        assert_eq!(store.reader.docking_orders("KW-1", 0).unwrap().config, None);
        store.close();
    }

    #[tokio::test]
    async fn the_latest_threshold_confirmation_of_each_wearable_is_kept() {
        let store = Scratch::new("site-config-state");
        let config = WearableConfig::default();
        store
            .settings(SettingChange::ConfigConfirmed {
                serial: "KW-1".into(),
                confirmed: None,
                at_ms: 10,
                problem: Some("refused".into()),
            })
            .await
            .unwrap();
        store
            .settings(SettingChange::ConfigConfirmed {
                serial: "KW-1".into(),
                confirmed: Some(config),
                at_ms: 20,
                problem: None,
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.config_states().unwrap(),
            vec![ConfigState {
                serial: "KW-1".into(),
                confirmed: Some(config),
                at_ms: Some(20),
                problem: None,
            }]
        );
        store.close();
    }

    /// A shift report of worker `badge` on `KW-1` starting at `start_ms`: an hour of wear, all of
    /// it walking at 80–85 °/s.
    fn walking_report(badge: &str, start_ms: i64) -> crate::store::reports::NewShiftReport {
        use crate::analysis::exposure::AlertStats;
        use crate::analysis::nuisance::{Histogram, ShiftNuisance};
        let mut gait = vec![0; 17];
        gait[16] = 90_000;
        let alerts = AlertStats {
            nuisance: ShiftNuisance {
                gait_s: 3600.0,
                gait_twist: Histogram(gait),
                ..ShiftNuisance::default()
            },
            ..AlertStats::default()
        };
        let report = serde_json::json!({ "wear_s": 3600.0, "alerts": alerts });
        crate::store::reports::NewShiftReport {
            worker: crate::worker::WorkerTag::from_ascii(badge),
            start_ms,
            end_ms: start_ms + 3_600_000,
            local_day: "2026-12-01".into(),
            risk_level: "low".into(),
            version: 1,
            settings: "s".into(),
            report: report.to_string(),
        }
    }

    #[tokio::test]
    async fn a_new_workers_wearable_is_silent_until_day_n_then_runs_the_suggested_thresholds() {
        use crate::analysis::nuisance::Baseline;
        use crate::store::roster::RosterChange;
        const DAY: i64 = 86_400_000;
        const T0: i64 = 1_796_000_000_000;
        let store = Scratch::new("site-baseline");
        store.docking("KW-1", T0).await;
        let worker = store
            .roster(RosterChange::AddWorker {
                tag: crate::worker::WorkerTag::from_ascii("B-1").unwrap(),
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .unwrap();
        store
            .roster(RosterChange::AssignWearable {
                serial: "KW-1".into(),
                worker: Some(worker),
                at_ms: T0,
            })
            .await
            .unwrap();
        let orders = |now_ms| store.reader.docking_orders("KW-1", now_ms).unwrap();
        // Off: the wearable keeps its own thresholds, as before the baseline existed.
        assert_eq!(orders(T0).config, None);
        assert_eq!(orders(T0).baseline, Baseline::Off);

        let put = |key: &str, value: String| SettingChange::Put {
            key: key.into(),
            value,
        };
        store
            .settings(put(SILENT_BASELINE, "3".into()))
            .await
            .unwrap();
        // Before any wear: silent, the firmware's thresholds with haptics off.
        let before = orders(T0);
        assert_eq!(before.baseline, Baseline::Silent { until_ms: None });
        assert_eq!(
            before.config,
            Some(WearableConfig {
                haptics: false,
                ..WearableConfig::default()
            })
        );

        let wearable = store.number("SELECT id FROM wearable");
        store
            .writer
            .replace_reports(crate::store::reports::ReportBatch {
                wearable_id: wearable,
                lo_ms: T0,
                hi_ms: T0 + 3_600_000,
                last_segment_id: None,
                reports: vec![walking_report("B-1", T0)],
                outbox: Vec::new(),
                pseudonyms: Vec::new(),
            })
            .await
            .unwrap();
        let last_silent = orders(T0 + 3 * DAY - 1);
        assert_eq!(
            last_silent.baseline,
            Baseline::Silent {
                until_ms: Some(T0 + 3 * DAY)
            }
        );
        assert_eq!(last_silent.config.map(|c| c.haptics), Some(false));

        let over = orders(T0 + 3 * DAY);
        assert_eq!(
            over.baseline,
            Baseline::Over {
                ended_ms: T0 + 3 * DAY
            }
        );
        assert_eq!(
            over.config,
            Some(WearableConfig {
                twist_alert: 900,
                ..WearableConfig::default()
            }),
            "haptics on, twist alert just above the site's walking (85 + 5 °/s)"
        );
        // An unassigned wearable runs the site thresholds, whatever the baseline.
        assert_eq!(
            store.reader.docking_orders("KW-2", T0).unwrap().config,
            None
        );
        // An opted-out worker has no baseline: nothing of theirs is stored to end it.
        store
            .roster(RosterChange::OptOut {
                id: worker,
                opted_out_ms: Some(T0),
            })
            .await
            .unwrap();
        let opted_out = orders(T0 + DAY);
        assert_eq!(opted_out.baseline, Baseline::Off);
        assert_eq!(opted_out.config, None, "the site's thresholds: none set");
        // A malformed baseline is off (the page checks the range: `web_ui::rules`).
        store
            .settings(put(SILENT_BASELINE, r#""a week""#.into()))
            .await
            .unwrap();
        assert_eq!(store.reader.silent_baseline_days().unwrap(), 0);
        store.close();
    }
}
