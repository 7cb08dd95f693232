//! `comfyctl reconnect`: try until the full session works again (HTTP,
//! WebSocket, first `status`) on every server (or, with `--any`, one), or
//! give up loudly.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::config::ReconnectPlan;
use crate::error::{Error, Exit};
use crate::manager::{
    Envelope, ErrorKind, Event, Fleet, ProbeError, Rule, State, TargetId, Verdict,
};
use crate::render::json::{ReconnectReport, one_or_array};
use crate::render::view::short_duration;
use crate::render::{Output, spinner::Spinner, style};

/// How one server's reconnection went.
#[derive(Default)]
struct Progress {
    attempts: u32,
    state: Option<State>,
    last_error: Option<ProbeError>,
    connected_after: Option<Duration>,
    failure: Option<String>,
}

/// How the run as a whole ended, which decides what an unfinished server's
/// outcome means.
struct Ending {
    /// The deadline passed before the fleet finished.
    timed_out: bool,
    /// `--any` and some server came back: the others were stopped, not failed.
    any_won: bool,
    /// The deadline, for "gave up after …".
    deadline: Duration,
}

/// What one server's reconnection came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The full session came back after this long.
    Reconnected(Duration),
    /// Stopped because another server won (`--any`): no error line and no
    /// fallback warning.
    Stopped,
    /// Failed or gave up: the exit its last state calls for, and the error
    /// whose message tells the whole story.
    Failed(Verdict, ProbeError),
}

impl Progress {
    /// Folds one of this server's events in; `since_start` is the time since
    /// reconnect started.
    fn observe(&mut self, event: Event, since_start: Duration) {
        match event {
            Event::Reconnecting { attempt, error, .. } => {
                self.attempts = attempt;
                self.last_error = error;
            }
            Event::State { state, reason, .. } => {
                self.state = Some(state);
                match state {
                    State::Connected if self.connected_after.is_none() => {
                        self.connected_after = Some(since_start);
                    }
                    State::Failed => self.failure = Some(reason),
                    State::Degraded => {
                        self.last_error = Some(ProbeError::new(ErrorKind::WsRefused, reason));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Attempts made, the successful one included.
    fn attempts(&self) -> u32 {
        self.attempts + u32::from(self.connected_after.is_some())
    }

    /// Turns this server's progress into its outcome once the run is over.
    fn outcome(&self, ending: &Ending) -> Outcome {
        if let Some(took) = self.connected_after {
            return Outcome::Reconnected(took);
        }
        if ending.any_won && self.failure.is_none() {
            return Outcome::Stopped;
        }
        let why = self
            .last_error
            .as_ref()
            .map_or("no answer", |e| e.message.as_str());
        let failure = match (&self.failure, ending.timed_out) {
            (Some(f), _) => f.clone(),
            (None, true) => format!(
                "reconnection failed: gave up after {}: {why}",
                short_duration(ending.deadline)
            ),
            (None, false) => format!("reconnection failed: stopped: {why}"),
        };
        // The same {kind, message, status} object as Status: the kind and
        // status of the last attempt, the whole story as the message.
        let error = match &self.last_error {
            Some(last) => ProbeError {
                message: failure,
                ..last.clone()
            },
            None if ending.timed_out => ProbeError::new(ErrorKind::Timeout, failure),
            None => ProbeError::new(ErrorKind::Network, failure),
        };
        Outcome::Failed(
            self.state.map_or(Verdict::Unavailable, Verdict::from),
            error,
        )
    }
}

/// Every server's progress, in target order, and when the fleet is done.
struct Tally {
    order: Vec<(TargetId, Arc<str>)>,
    progress: HashMap<TargetId, Progress>,
    rule: Rule,
    started: Instant,
    timed_out: bool,
}

impl Tally {
    fn new(order: Vec<(TargetId, Arc<str>)>, rule: Rule, started: Instant) -> Tally {
        let progress = order
            .iter()
            .map(|(id, _)| (*id, Progress::default()))
            .collect();
        Tally {
            order,
            progress,
            rule,
            started,
            timed_out: false,
        }
    }

    /// Finished: all servers back or one failed; with `--any`, one back or
    /// all failed.
    fn finished(&self) -> bool {
        let size = self.order.len();
        let back = self
            .progress
            .values()
            .filter(|p| p.connected_after.is_some());
        let failed = self.progress.values().filter(|p| p.failure.is_some());
        let (back, failed) = (back.count(), failed.count());
        self.rule.holds(back, size) || self.rule.fails(failed, size)
    }
}

/// Reconnects; exit 0 with the time it took, or 1 with "reconnection failed".
pub async fn run(plan: &ReconnectPlan, out: &Output) -> Result<Exit, Error> {
    let common = &plan.common;
    let targets = super::resolve(common, out).await?.targets;

    let started = Instant::now();
    let Fleet {
        mut events,
        stop,
        tasks,
        monitors,
    } = Fleet::start(targets, Vec::new(), &common.client, &plan.settings);
    let order = monitors.into_iter().map(|(id, url, _)| (id, url)).collect();
    let mut tally = Tally::new(order, Rule::any_if(common.any), started);

    let spinner = Spinner::start(out, "reconnecting");
    follow(&mut events, &stop, &mut tally, plan.deadline, &spinner).await;
    drop(spinner);
    for task in tasks {
        let _ = task.await;
    }
    report(plan, out, &tally)
}

/// Feeds the fleet's events into `tally` until it is finished or the
/// deadline passes, then stops the monitors and drains what they still say.
async fn follow(
    events: &mut mpsc::Receiver<Envelope>,
    stop: &watch::Sender<bool>,
    tally: &mut Tally,
    deadline: Duration,
    spinner: &Spinner,
) {
    let mut give_up = pin!(tokio::time::sleep(deadline));
    let mut done = false;
    loop {
        tokio::select! {
            envelope = events.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(p) = tally.progress.get_mut(&envelope.id) else { continue };
                if let Event::Reconnecting { attempt, error, next_delay } = &envelope.event {
                    let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                    spinner.set(format!(
                        "reconnecting to {} · attempt {attempt} failed: {} · next in {}",
                        envelope.url,
                        crate::render::safe::term_safe(why),
                        crate::render::view::countdown(*next_delay)
                    ));
                }
                p.observe(envelope.event, tally.started.elapsed());
                if !done && tally.finished() {
                    done = true;
                    let _ = stop.send(true);
                }
            }
            () = &mut give_up, if !done => {
                tally.timed_out = true;
                done = true;
                let _ = stop.send(true);
            }
        }
    }
}

/// One line per server (or JSON), a fallback warning per failed server, and
/// the fleet's exit code.
fn report(plan: &ReconnectPlan, out: &Output, tally: &Tally) -> Result<Exit, Error> {
    let common = &plan.common;
    let ending = Ending {
        timed_out: tally.timed_out,
        any_won: common.any && tally.progress.values().any(|p| p.connected_after.is_some()),
        deadline: plan.deadline,
    };
    let mut verdicts = Vec::new();
    let mut lines = Vec::new();
    let mut json = Vec::new();
    for (id, url) in &tally.order {
        let p = &tally.progress[id];
        let attempts = p.attempts();
        let outcome = p.outcome(&ending);
        lines.extend(outcome_line(url, &outcome, attempts, out));
        let (verdict, error) = match outcome {
            Outcome::Reconnected(_) => (Verdict::Ready, None),
            Outcome::Stopped => (Verdict::Unavailable, None),
            Outcome::Failed(verdict, error) => (verdict, Some(error)),
        };
        let fallback = error.is_some().then_some(common.fallback);
        json.push(ReconnectReport {
            url,
            reconnected: verdict == Verdict::Ready,
            attempts,
            elapsed_ms: p
                .connected_after
                .unwrap_or(tally.started.elapsed())
                .as_millis() as u64,
            error,
            fallback,
        });
        verdicts.push(verdict);
        if fallback.is_some() {
            out.warn(&common.fallback.warning(url));
        }
    }
    if out.json {
        // An array whenever the command line named a list, as for health.
        out.println(&one_or_array(&json, common.json_array))?;
    } else {
        out.println(&lines.join("\n"))?;
    }
    Ok(Exit::from(tally.rule.fleet(verdicts)))
}

/// The human line for one server; none for one stopped because another won.
fn outcome_line(url: &str, outcome: &Outcome, attempts: u32, out: &Output) -> Option<String> {
    match outcome {
        Outcome::Reconnected(took) => Some(format!(
            "{} {url} after {} ({attempts} attempt{})",
            style::good(out).bold().apply_to("reconnected:"),
            short_duration(*took),
            if attempts == 1 { "" } else { "s" }
        )),
        Outcome::Stopped => None,
        Outcome::Failed(_, error) => Some(format!(
            "{} {url}: {}",
            style::bad(out).bold().apply_to("error:"),
            crate::render::safe::term_safe(&error.message)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(state: State, reason: &str) -> Event {
        Event::State {
            state,
            previous: None,
            reason: reason.into(),
        }
    }

    fn refused(attempt: u32) -> Event {
        Event::Reconnecting {
            attempt,
            error: Some(ProbeError::new(ErrorKind::ConnectionRefused, "refused")),
            next_delay: Duration::from_millis(100),
        }
    }

    const ENDED: Ending = Ending {
        timed_out: false,
        any_won: false,
        deadline: Duration::from_secs(5),
    };

    #[test]
    fn giving_up_keeps_the_last_attempts_kind_and_tells_the_whole_story() {
        let mut p = Progress::default();
        p.observe(refused(1), Duration::ZERO);
        p.observe(refused(2), Duration::ZERO);
        let ending = Ending {
            timed_out: true,
            ..ENDED
        };
        let Outcome::Failed(exit, error) = p.outcome(&ending) else {
            panic!("not a failure");
        };
        assert_eq!(exit, Verdict::Unavailable);
        assert_eq!(error.kind, ErrorKind::ConnectionRefused);
        assert_eq!(
            error.message,
            "reconnection failed: gave up after 5s: refused"
        );
        assert_eq!(p.attempts(), 2);

        // No attempt ever failed with an error: a timeout with no answer.
        let Outcome::Failed(_, error) = Progress::default().outcome(&ending) else {
            panic!("not a failure");
        };
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message.ends_with(": no answer"), "{}", error.message);
    }

    #[test]
    fn the_first_connection_counts_as_an_attempt_and_fixes_the_time() {
        let mut p = Progress::default();
        p.observe(refused(1), Duration::ZERO);
        p.observe(state(State::Connected, "up"), Duration::from_millis(300));
        p.observe(state(State::Degraded, "ws"), Duration::from_millis(900));
        p.observe(state(State::Connected, "up"), Duration::from_millis(950));
        assert_eq!(p.attempts(), 2);
        assert_eq!(
            p.outcome(&ENDED),
            Outcome::Reconnected(Duration::from_millis(300))
        );
    }

    #[test]
    fn with_any_the_losers_are_stopped_but_a_failure_stays_a_failure() {
        let won = Ending {
            any_won: true,
            ..ENDED
        };
        assert_eq!(Progress::default().outcome(&won), Outcome::Stopped);
        let mut failed = Progress::default();
        failed.observe(state(State::Failed, "gave up: refused"), Duration::ZERO);
        let Outcome::Failed(_, error) = failed.outcome(&won) else {
            panic!("not a failure");
        };
        assert_eq!(error.message, "gave up: refused");
    }

    #[test]
    fn all_needs_every_server_back_and_any_needs_every_server_failed() {
        let order: Vec<(TargetId, Arc<str>)> =
            vec![(TargetId(0), "a".into()), (TargetId(1), "b".into())];
        for any in [false, true] {
            let mut tally = Tally::new(order.clone(), Rule::any_if(any), Instant::now());
            let a = tally.progress.get_mut(&TargetId(0)).unwrap();
            a.observe(state(State::Connected, "up"), Duration::ZERO);
            assert_eq!(tally.finished(), any, "one back, any={any}");
        }
        for any in [false, true] {
            let mut tally = Tally::new(order.clone(), Rule::any_if(any), Instant::now());
            let a = tally.progress.get_mut(&TargetId(0)).unwrap();
            a.observe(state(State::Failed, "x"), Duration::ZERO);
            assert_eq!(tally.finished(), !any, "one failed, any={any}");
        }
    }
}
