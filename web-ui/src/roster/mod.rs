//! The Roster page and its JSON API: which wearable each worker wears, workers' badge tags, local
//! display names, tasks and teams, and opt-outs. It owns presentation and input checks; the daemon
//! owns storage (through [`RosterView`]). It must never show a badge tag or a name anywhere but here,
//! and never serve a user whose role does not see worker data.

mod view;

pub use view::{
    Roster, RosterChange, RosterDone, RosterRefusal, RosterView, RosterWearable, RosterWorker,
};
