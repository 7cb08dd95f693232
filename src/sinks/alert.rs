//! Alerts on state changes: `--on-change PROGRAM` and `--webhook URL`.
//! They consume monitor events and pass flap damping here; the workers in
//! [`super::hooks`] deliver them.

use std::collections::HashMap;

use crate::manager::{Envelope, Event, State, TargetId};
use crate::wire::event::Line;
use crate::wire::{ts, webhook};

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
        webhook::state_line(
            &self.url,
            self.ts.clone(),
            self.state,
            self.previous,
            &self.reason,
        )
    }
}

/// Flap damping for alerts: a new state is announced only once it has held
/// for `fail_after` consecutive probes (down states) or `recover_after`
/// (up states). A state that does not last that long is never announced,
/// and neither is the return from it.
pub struct Gate {
    fail_after: u32,
    recover_after: u32,
    targets: HashMap<TargetId, GateState>,
}

#[derive(Default)]
struct GateState {
    /// The server's address now (discovery may move it).
    url: String,
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
        // Keyed by the stable id: a server that discovery moved carries on
        // the outage announced for the address probed first, and its
        // `connected` says what it ends.
        let entry = self.targets.entry(envelope.id).or_default();
        if *entry.url != *envelope.url {
            entry.url = envelope.url.to_string();
        }
        match &envelope.event {
            Event::State { state, reason, .. } => {
                let ts = ts(envelope.at);
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

impl Gate {
    /// The states still held back by damping when the watch ends because of
    /// them (`--until`, `--count`, `--fallback abort`, giving up): the watch
    /// will not see them confirmed, and its exit code already reports them.
    pub fn settle(&mut self) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = self
            .targets
            .iter_mut()
            .filter_map(|(_, entry)| {
                let (state, reason, ts, _) = entry.pending.take()?;
                if entry.announced == Some(state) {
                    return None;
                }
                let previous = entry.announced.replace(state);
                Some(Alert {
                    url: entry.url.clone(),
                    state,
                    previous,
                    reason,
                    ts,
                })
            })
            .collect();
        alerts.sort_by(|a, b| a.ts.cmp(&b.ts));
        alerts
    }
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
            id: TargetId::default(),
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
            running_age_ms: None,
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
    fn settling_announces_what_damping_still_holds_back() {
        let mut gate = Gate::new(3, 1);
        assert!(gate.feed(&state(State::Connected)).is_some());
        assert!(gate.feed(&state(State::Disconnected)).is_none());
        let settled = gate.settle();
        assert_eq!(settled.len(), 1);
        assert_eq!(
            (settled[0].state, settled[0].previous),
            (State::Disconnected, Some(State::Connected))
        );
        assert!(gate.settle().is_empty(), "announced once");
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
