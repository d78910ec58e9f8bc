//! The admin pages: Settings (users and roles, site settings, tasks, wearable alert thresholds)
//! and the audit trail viewer, with their JSON API. It owns presentation and input checks; the
//! daemon owns storage and the rules (through [`AdminView`]). It must never serve anyone but an
//! admin, nor echo a password.

mod view;

pub use view::{
    AdminChange, AdminRefusal, AdminView, AuditLine, AuditPage, SettingsView, SiteSettings,
    TaskRow, ThresholdState, ThresholdStatus, Thresholds, UserRow,
};
