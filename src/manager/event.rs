//! What the manager reports while it works.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::status::ProbeError;

/// What the calling pipeline should do while the backend is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FallbackMode {
    /// Generate placeholder images instead.
    Placeholder,
    /// Skip generation.
    Skip,
    /// Abort the operation.
    Abort,
}

impl FallbackMode {
    /// The lowercase name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackMode::Placeholder => "placeholder",
            FallbackMode::Skip => "skip",
            FallbackMode::Abort => "abort",
        }
    }

    /// The one-line warning for the calling pipeline.
    pub fn warning(self, url: &str) -> String {
        let advice = match self {
            FallbackMode::Placeholder => "generate placeholder images instead",
            FallbackMode::Skip => "skip generation",
            FallbackMode::Abort => "abort the operation",
        };
        format!("ComfyUI backend at {url} is unavailable; fallback={self}: {advice}")
    }
}

impl fmt::Display for FallbackMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress reported by the manager.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Attempt `attempt` of `of` is starting.
    Attempt {
        /// 1-based.
        attempt: u32,
        /// Attempts in all.
        of: u32,
    },
    /// Attempt `attempt` failed; the next starts after `delay`.
    Retry {
        /// The attempt that failed.
        attempt: u32,
        /// Attempts in all.
        of: u32,
        /// Why it failed.
        error: Option<ProbeError>,
        /// Wait before the next attempt.
        delay: Duration,
    },
}
