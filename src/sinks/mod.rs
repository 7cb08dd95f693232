//! Consumers of monitor events that are not terminal output: Prometheus
//! metrics and state-change alerts (hooks and webhooks). Like the
//! renderers, they only consume events.

pub mod alert;
pub mod hooks;
pub mod metrics;
