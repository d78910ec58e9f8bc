//! The store's side of the page's settings (key/value `setting` rows, the alert thresholds among
//! them) and of what each wearable confirmed of those thresholds. It owns that SQL; it must never
//! hold anything about a worker.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError};
use crate::link::WearableConfig;

/// `setting` key of the alert thresholds pushed to every wearable (JSON `WearableConfig`).
pub const THRESHOLDS: &str = "thresholds";

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
        SettingChange::Put { key, value } => {
            tx.execute(
                "INSERT INTO setting (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        }
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
    }
}

impl Reader {
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

    #[tokio::test]
    async fn thresholds_in_the_settings_become_docking_orders_and_a_malformed_value_orders_nothing()
    {
        let store = Scratch::new("site-thresholds");
        assert_eq!(store.reader.setting(THRESHOLDS).unwrap(), None);
        assert_eq!(
            store.reader.docking_orders("KW-1").unwrap(),
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
            store.reader.docking_orders("KW-1").unwrap().config,
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
        assert_eq!(store.reader.docking_orders("KW-1").unwrap().config, None);
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
}
