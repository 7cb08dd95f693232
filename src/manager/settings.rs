//! The manager's own settings types: what a caller (the CLI, or an
//! embedder) decides once and hands in. No CLI type appears here.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::tls::TlsSettings;

/// How every request to a server is made: one per run, shared by all
/// targets.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Time limit for each request or attempt.
    pub timeout: Duration,
    /// Extra request headers (values are marked sensitive). Never `Origin`
    /// or `Host`: the caller rejects those.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Which certificates https:// servers may present.
    pub tls: TlsSettings,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_secs(5),
            headers: Vec::new(),
            tls: TlsSettings::default(),
        }
    }
}

/// How a one-shot connection retries: `retries` after the first attempt,
/// the delay starting at 1 s and growing by `backoff`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Growth factor of the delay between attempts.
    pub backoff: f64,
}

impl Default for ConnectPolicy {
    fn default() -> Self {
        ConnectPolicy {
            retries: 3,
            backoff: 2.0,
        }
    }
}
