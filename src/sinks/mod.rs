//! Consumers of monitor events that are not terminal output: Prometheus
//! metrics and state-change alerts (hooks and webhooks). Like the
//! renderers, they only consume events.

pub mod alert;
pub mod hooks;
pub mod metrics;

/// Where a sink's notes go: `watch` hands in the renderer's output. Sinks
/// never print themselves and never name a renderer.
pub trait Notes: Send + Sync + 'static {
    /// One line for the user (already terminal-safe).
    fn note(&self, text: &str);
    /// True while a full-screen view owns the terminal: a hook's stderr is
    /// then captured and passed on as notes instead of inherited.
    fn screen_held(&self) -> bool;
}

/// A sink's handle on [`Notes`], shared by its worker task.
pub type Say = std::sync::Arc<dyn Notes>;
