//! The settings a caller hands in, as a kind that messages can name. The
//! manager never spells a command-line flag: a message that tells the user
//! what to change names a [`Setting`], and the caller decides once (with
//! [`name_settings`]) how its users know it. The CLI names its flags.

use std::sync::OnceLock;

/// A setting that a message tells the user to check or change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// Which server: the target's URL.
    Url,
    /// A bearer token for `Authorization`.
    Token,
    /// Extra request headers ([`super::ClientSettings::headers`]).
    Header,
    /// A file of trusted CA certificates ([`super::TlsSettings::ca_certs`]).
    CaCert,
    /// No certificate verification ([`super::TlsSettings::insecure`]).
    Insecure,
    /// The longest a job may run ([`super::WatchSettings::max_job_time`]).
    MaxJobTime,
    /// How long a silent server with a running job still counts as up
    /// ([`super::WatchSettings::busy_grace`]).
    BusyGrace,
}

/// Every setting, for tables that must name each one.
pub const SETTINGS: [Setting; 7] = [
    Setting::Url,
    Setting::Token,
    Setting::Header,
    Setting::CaCert,
    Setting::Insecure,
    Setting::MaxJobTime,
    Setting::BusyGrace,
];

/// How the caller names settings; unset: [`Setting::field`].
static NAMES: OnceLock<fn(Setting) -> &'static str> = OnceLock::new();

/// Names the settings in every message from now on, as the caller's users
/// know them (the CLI: `--max-job-time`). Set once, before the first
/// message; a later call is ignored, so the wording never changes mid-run.
pub fn name_settings(names: fn(Setting) -> &'static str) {
    let _ = NAMES.set(names);
}

impl Setting {
    /// The name messages use: the caller's, else [`Setting::field`].
    pub fn name(self) -> &'static str {
        NAMES
            .get()
            .map_or_else(|| self.field(), |names| names(self))
    }

    /// The setting's place in the manager's own types, for an embedder
    /// that named nothing.
    pub fn field(self) -> &'static str {
        match self {
            Setting::Url => "the target URL",
            Setting::Token => "the bearer token",
            Setting::Header => "ClientSettings::headers",
            Setting::CaCert => "TlsSettings::ca_certs",
            Setting::Insecure => "TlsSettings::insecure",
            Setting::MaxJobTime => "WatchSettings::max_job_time",
            Setting::BusyGrace => "WatchSettings::busy_grace",
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
