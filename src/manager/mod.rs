//! The core: talks to ComfyUI and emits events. It never prints, and knows
//! nothing of the command line: callers hand in its own settings types
//! ([`ClientSettings`], [`ConnectPolicy`], [`WatchSettings`]).

mod backoff;
mod discovery;
mod event;
mod fleet;
pub(crate) mod http;
pub(crate) mod jobs;
mod monitor;
mod outcome;
pub mod parse;
pub(crate) mod port;
pub(crate) mod readiness;
pub(crate) mod retry;
mod setting;
mod settings;
mod status;
mod target;
pub(crate) mod tls;
pub(crate) mod workflow;
pub(crate) mod ws;

pub use backoff::Backoff;
pub use discovery::{
    DEFAULT_CANDIDATES, Resolved, default_candidates, discover, discover_round, resolve,
};
pub use event::{Envelope, Event, FallbackMode, ProgressKind, State, Summary, TargetId};
pub use fleet::{Fleet, connect_all};
pub use http::HttpClient;
pub use monitor::{Connected, Monitor, Stop, WatchSettings};
pub use outcome::reconnect::{self as reconnects, Reconnected};
pub use outcome::watch as watch_rules;
pub use outcome::{Outcomes, Rule, Verdict};
pub use setting::{SETTINGS, Setting, name_settings};
pub use settings::{ClientSettings, ConnectPolicy};
pub use status::{Device, ErrorKind, ProbeError, Status, unix_ms};
pub use target::{Target, redact_str};
pub use tls::TlsSettings;
