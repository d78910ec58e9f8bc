//! Implements `web_ui::admin::AdminView` over the store: users, site settings, tasks and the
//! wearables' alert thresholds, and the audit trail. It owns the rules of admin changes (never
//! leave the dock without an enabled admin); it must never return or log a password.

use web_ui::admin::{AdminChange, AdminRefusal, AdminView, AuditPage, SettingsView};

/// The dock's admin view (being wired: issue 6).
pub struct SiteAdmin {}

impl SiteAdmin {
    pub fn new() -> Self {
        Self {}
    }
}

impl AdminView for SiteAdmin {
    fn settings(&self) -> SettingsView {
        SettingsView {
            users: Vec::new(),
            site: web_ui::admin::SiteSettings {
                time_zone: "UTC".into(),
                min_group_workers: 5,
                goal_alerts_per_day: 0,
            },
            tasks: Vec::new(),
            thresholds: web_ui::admin::Thresholds {
                bend_alert_deg: 45.0,
                bend_hold_ms: 1000,
                twist_alert_dps: 60.0,
                haptics: true,
                rate_hz: 25,
            },
            wearables: Vec::new(),
        }
    }

    fn change(&self, _by: &str, _change: AdminChange) -> Result<String, AdminRefusal> {
        Err(AdminRefusal("settings cannot be changed yet".into()))
    }

    fn audit(&self, _before: Option<i64>, _limit: u32) -> AuditPage {
        AuditPage::default()
    }
}
