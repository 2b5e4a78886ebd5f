//! The report every ensure-style operation returns: what it did to one thing.

use serde::Serialize;
use std::fmt;

/// What an operation did, or in `--dry-run` would have done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Started,
    Recreated,
    Updated,
    Connected,
    Disconnected,
    Removed,
    /// Put back as another tool had it (an announcement brrt took over).
    Restored,
    Unchanged,
    Absent,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Started => "started",
            Action::Recreated => "recreated",
            Action::Updated => "updated",
            Action::Connected => "connected",
            Action::Disconnected => "disconnected",
            Action::Removed => "removed",
            Action::Restored => "restored",
            Action::Unchanged => "unchanged",
            Action::Absent => "absent",
        }
    }

    /// Whether this action changed (or would change) anything.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Absent)
    }

    /// The verb used for "would …" lines in dry-run mode.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Created => "create",
            Action::Started => "start",
            Action::Recreated => "re-create",
            Action::Updated => "update",
            Action::Connected => "connect",
            Action::Disconnected => "disconnect",
            Action::Removed => "remove",
            Action::Restored => "restore",
            Action::Unchanged | Action::Absent => "leave",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an operation may change things, or only say what it would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    pub dry_run: bool,
}

impl Mode {
    /// Logs a planned change. Returns true when the change should really be made.
    pub fn announce(self, action: Action, what: &str) -> bool {
        if self.dry_run {
            tracing::info!("would {} {what}", action.verb());
            false
        } else {
            tracing::debug!("{} {what}", action.verb());
            true
        }
    }
}
