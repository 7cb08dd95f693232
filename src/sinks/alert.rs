//! Alerts on state changes: `--on-change PROGRAM` and `--webhook URL`.
//! They consume monitor events, pass flap damping, and run in their own
//! tasks, one alert at a time per sink, so a slow or failing hook never
//! stalls monitoring and alerts keep their order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::manager::{Envelope, Event, State};
use crate::render::Output;
use crate::render::ndjson::{Body, Line, StateLine};

/// A state change that passed damping and should be announced.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Target URL, credentials redacted.
    pub url: String,
    /// The new state.
    pub state: State,
    /// The last announced state for this target, if any.
    pub previous: Option<State>,
    /// Why, in one line.
    pub reason: String,
    /// RFC 3339 with milliseconds.
    pub ts: String,
}

impl Alert {
    /// The webhook body: the same `state` line `watch --json` prints.
    pub fn line(&self) -> Line<'_> {
        let body = Body::State(StateLine {
            state: self.state,
            previous: self.previous,
            reason: &self.reason,
        });
        Line::new(&self.url, self.ts.clone(), body)
    }
}

/// Flap damping for alerts: a new state is announced only once it has held
/// for `fail_after` consecutive probes (down states) or `recover_after`
/// (up states). A state that does not last that long is never announced,
/// and neither is the return from it.
pub struct Gate {
    fail_after: u32,
    recover_after: u32,
    targets: HashMap<String, GateState>,
}

#[derive(Default)]
struct GateState {
    announced: Option<State>,
    pending: Option<(State, String, String, u32)>,
}

impl Gate {
    /// A gate with these thresholds (1 and 1 announce every change at once).
    pub fn new(fail_after: u32, recover_after: u32) -> Gate {
        Gate {
            fail_after: fail_after.max(1),
            recover_after: recover_after.max(1),
            targets: HashMap::new(),
        }
    }

    /// Feeds one event; returns the alert it confirms, if any. State events
    /// start a candidate; polls and reconnect attempts are the probes that
    /// confirm it.
    pub fn feed(&mut self, envelope: &Envelope) -> Option<Alert> {
        if let Event::Moved { from } = &envelope.event {
            // The server found carries on the outage announced for the
            // address probed first: its `connected` says what it ends.
            if let Some(gate) = self.targets.remove(&**from) {
                self.targets.insert(envelope.url.to_string(), gate);
            }
            return None;
        }
        let entry = self.targets.entry(envelope.url.to_string()).or_default();
        match &envelope.event {
            Event::State { state, reason, .. } => {
                let ts = crate::render::ndjson::ts(envelope.at);
                // While damping, disconnected → reconnecting is one outage:
                // keep counting it, with the reason that started it.
                let continues = self.fail_after > 1
                    && state.is_down()
                    && entry.pending.as_ref().is_some_and(|p| p.0.is_down());
                if !continues {
                    entry.pending = Some((*state, reason.clone(), ts, 0));
                }
            }
            Event::Status { .. } | Event::Reconnecting { .. } => {}
            _ => return None,
        }
        let (state, reason, ts, seen) = entry.pending.as_mut()?;
        *seen += 1;
        let needed = if state.is_up() {
            self.recover_after
        } else {
            self.fail_after
        };
        if *seen < needed {
            return None;
        }
        let (state, reason, ts) = (*state, reason.clone(), ts.clone());
        entry.pending = None;
        if entry.announced == Some(state) {
            return None;
        }
        let previous = entry.announced.replace(state);
        Some(Alert {
            url: envelope.url.to_string(),
            state,
            previous,
            reason,
            ts,
        })
    }
}

/// Runs `program` once per alert, without a shell, with the alert in
/// `COMFYCTL_*` variables, bounded by `timeout`; logs failures to stderr.
pub fn spawn_program(program: PathBuf, timeout: Duration, out: Output) -> mpsc::Sender<Alert> {
    let (tx, mut rx) = mpsc::channel::<Alert>(1024);
    tokio::spawn(async move {
        while let Some(alert) = rx.recv().await {
            let mut cmd = tokio::process::Command::new(&program);
            cmd.env("COMFYCTL_URL", &alert.url)
                .env("COMFYCTL_STATE", alert.state.as_str())
                .env(
                    "COMFYCTL_PREVIOUS",
                    alert.previous.map_or("", State::as_str),
                )
                .env("COMFYCTL_REASON", &alert.reason)
                .env("COMFYCTL_TS", &alert.ts)
                // The bearer token is comfyctl's, not the hook's to see.
                .env_remove("COMFYCTL_TOKEN")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .kill_on_drop(true);
            let shown = program.display();
            match cmd.spawn() {
                Err(e) => out.note(&format!("--on-change {shown}: cannot run: {e}")),
                Ok(mut child) => match tokio::time::timeout(timeout, child.wait()).await {
                    Ok(Ok(status)) if status.success() => {}
                    Ok(Ok(status)) => {
                        out.note(&format!("--on-change {shown} exited with {status}"))
                    }
                    Ok(Err(e)) => out.note(&format!("--on-change {shown}: {e}")),
                    Err(_) => {
                        let _ = child.kill().await;
                        out.note(&format!(
                            "--on-change {shown} took longer than {}; killed it",
                            humantime::format_duration(timeout)
                        ));
                    }
                },
            }
        }
    });
    tx
}

/// POSTs each alert as JSON to `url`, with up to 3 attempts, each bounded
/// by `timeout`; logs failures to stderr.
pub fn spawn_webhook(url: url::Url, timeout: Duration, out: Output) -> mpsc::Sender<Alert> {
    let (tx, mut rx) = mpsc::channel::<Alert>(1024);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("static client settings");
    let shown = webhook_origin(&url);
    tokio::spawn(async move {
        while let Some(alert) = rx.recv().await {
            let body = alert.line();
            let mut last_error = String::new();
            for attempt in 0..3u32 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                match client.post(url.clone()).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        last_error.clear();
                        break;
                    }
                    Ok(r) => last_error = format!("HTTP {}", r.status().as_u16()),
                    Err(e) => last_error = e.without_url().to_string(),
                }
            }
            if !last_error.is_empty() {
                out.note(&format!(
                    "--webhook {shown}: gave up after 3 attempts: {last_error}"
                ));
            }
        }
    });
    tx
}

/// How a webhook is named in messages: scheme, host and port only. Slack-
/// and Discord-style webhooks carry their secret in the path and query.
pub fn webhook_origin(url: &url::Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::manager::Status;

    fn ev(event: Event) -> Envelope {
        Envelope {
            url: Arc::from("http://h:1"),
            at: SystemTime::now(),
            event,
        }
    }

    fn state(s: State) -> Envelope {
        ev(Event::State {
            state: s,
            previous: None,
            reason: "r".into(),
        })
    }

    fn poll() -> Envelope {
        ev(Event::Status {
            status: Box::new(Status::unknown("http://h:1".into())),
            running_prompt: None,
        })
    }

    #[test]
    fn without_damping_every_change_is_announced() {
        let mut gate = Gate::new(1, 1);
        assert_eq!(
            gate.feed(&state(State::Connected)).unwrap().state,
            State::Connected
        );
        let down = gate.feed(&state(State::Disconnected)).unwrap();
        assert_eq!(down.previous, Some(State::Connected));
        assert!(gate.feed(&poll()).is_none());
    }

    #[test]
    fn a_moved_server_ends_the_outage_announced_for_the_first_address() {
        let mut gate = Gate::new(1, 1);
        assert!(gate.feed(&state(State::Disconnected)).is_some());
        let found = "http://h:2";
        let moved = Envelope {
            url: Arc::from(found),
            ..ev(Event::Moved {
                from: Arc::from("http://h:1"),
            })
        };
        assert!(gate.feed(&moved).is_none());
        let back = Envelope {
            url: Arc::from(found),
            ..state(State::Connected)
        };
        let alert = gate.feed(&back).expect("announced");
        assert_eq!(alert.url, found);
        assert_eq!(alert.previous, Some(State::Disconnected));
    }

    #[test]
    fn a_blip_shorter_than_fail_after_is_not_announced() {
        let mut gate = Gate::new(3, 1);
        assert!(gate.feed(&state(State::Connected)).is_some());
        assert!(gate.feed(&state(State::Disconnected)).is_none());
        assert!(gate.feed(&poll()).is_none());
        // Back before the third probe: neither the outage nor the return.
        assert!(gate.feed(&state(State::Connected)).is_none());
        assert!(gate.feed(&poll()).is_none());
        // A real outage: announced on the third probe, as the state that
        // started it.
        assert!(gate.feed(&state(State::Disconnected)).is_none());
        assert!(gate.feed(&state(State::Reconnecting)).is_none());
        let alert = gate.feed(&poll()).expect("confirmed");
        assert_eq!(
            (alert.state, alert.previous),
            (State::Disconnected, Some(State::Connected))
        );
    }

    #[test]
    fn the_webhook_posts_the_ndjson_state_line() {
        let mut gate = Gate::new(1, 1);
        let envelope = state(State::Connected);
        let alert = gate.feed(&envelope).unwrap();
        let posted = serde_json::to_string(&alert.line()).unwrap();
        let printed = serde_json::to_string(&crate::render::ndjson::line(&envelope));
        assert_eq!(posted, printed.unwrap());
        assert!(posted.starts_with(r#"{"event":"state","ts":""#), "{posted}");
    }

    #[test]
    fn webhooks_are_named_by_scheme_host_and_port_only() {
        let url =
            url::Url::parse("https://u:pw@hooks.example/services/T0/B1/secret?token=abc").unwrap();
        assert_eq!(webhook_origin(&url), "https://hooks.example:443");
        let url = url::Url::parse("http://[::1]:9/x?token=abc").unwrap();
        assert_eq!(webhook_origin(&url), "http://[::1]:9");
    }
}
