//! `comfyctl watch`: the live monitor, for one server or a fleet. The
//! manager watches (one monitor per server, each with its own connection,
//! backoff and state); this glue feeds the events to the renderer, the
//! metrics and the alert sinks, and decides when to stop and how to exit.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Until, WatchPlan};
use crate::error::{Error, Exit};
use crate::manager::{Envelope, Event, FallbackMode, Fleet, State};
use crate::render::{self, Output};
use crate::sinks::alert::Gate;
use crate::sinks::hooks::Workers;
use crate::sinks::metrics::{self, Metrics};

/// Watches until Ctrl-C/SIGTERM (exit 0, after the summary), `--count`,
/// `--until`, `--fallback abort` (exit 1 once down), or reconnection giving
/// up (exit 1). Every exit first delivers the alerts still pending.
pub async fn run(plan: &WatchPlan, out: &Output) -> Result<Exit, Error> {
    let settings = &plan.settings;
    let resolved = super::resolve(&plan.common, out).await?;
    let count = resolved.targets.len();

    let Fleet {
        events: mut rx,
        stop: stop_tx,
        tasks,
        monitors,
    } = Fleet::start(
        resolved.targets,
        resolved.candidates,
        &plan.common.client,
        settings,
    );
    let activity: HashMap<String, _> = monitors
        .into_iter()
        .map(|(url, clock)| (url.to_string(), clock))
        .collect();
    let mut sinks = Sinks::start(plan, activity, out).await?;

    let mut renderer = render::for_stream(*out, settings.interval, count);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut signal = pin!(crate::shutdown_signal());
    let mut exit: Option<Exit> = None;
    // A stop rule (not a signal) ended the watch: what damping still holds
    // back is announced, as the exit code reports it.
    let mut settle = false;
    let mut failure: Option<Error> = None;
    let mut rules = StopRules::new(count, plan);
    loop {
        tokio::select! {
            envelope = rx.recv() => {
                let Some(envelope) = envelope else { break };
                if failure.is_none() && let Err(e) = renderer.event(&envelope) {
                    // stdout is gone (`watch | head`): stop, but still
                    // deliver the alerts.
                    failure = Some(Error::from(e));
                    exit.get_or_insert(Exit::Ok);
                    let _ = stop_tx.send(true);
                }
                // What monitors report while they stop (a `reconnecting`
                // after the `disconnected` that ended the watch) is shown
                // but not alerted: the last alert is the state that ended it.
                if exit.is_none() {
                    sinks.feed(&envelope);
                }
                let verdict = rules.observe(&envelope.url, &envelope.event);
                if let Some(v) = verdict && exit.is_none() {
                    exit = Some(v);
                    settle = true;
                    let _ = stop_tx.send(true);
                }
            }
            _ = ticker.tick() => renderer.tick(),
            () = &mut signal, if exit.is_none() => {
                exit = Some(Exit::Ok);
                let _ = stop_tx.send(true);
            }
        }
    }
    drop(renderer);
    for task in tasks {
        let _ = task.await;
    }
    sinks.finish(settle, out).await;
    match failure {
        Some(e) => Err(e),
        None => Ok(exit.unwrap_or(Exit::Ok)),
    }
}

/// Where events go besides the screen: the metrics endpoint and the alert
/// hooks behind their flap-damping gate.
struct Sinks {
    metrics: Option<Arc<Mutex<Metrics>>>,
    gate: Gate,
    workers: Workers,
}

impl Sinks {
    /// Starts the metrics endpoint (saying where it listens) and the
    /// `--on-change` / `--webhook` workers that `plan` asks for. `activity`
    /// is each monitor's last-WebSocket-frame clock, for the metrics.
    async fn start(
        plan: &WatchPlan,
        activity: HashMap<String, Arc<AtomicU64>>,
        out: &Output,
    ) -> Result<Sinks, Error> {
        let (settings, sinks) = (&plan.settings, &plan.sinks);
        let metrics = match &sinks.metrics {
            None => None,
            Some(addr) => {
                let metrics = Arc::new(Mutex::new(Metrics::new(activity)));
                let bound = metrics::serve(addr, metrics.clone())
                    .await
                    .map_err(|e| Error::Config(vec![e]))?;
                out.note(&format!("serving metrics on http://{bound}/metrics"));
                Some(metrics)
            }
        };
        let mut workers = Workers::default();
        if let Some(program) = &sinks.on_change {
            workers.add_program(program.clone(), sinks.hook_timeout, *out);
        }
        if let Some(url) = &sinks.webhook {
            workers.add_webhook(url.clone(), sinks.hook_timeout, *out);
        }
        Ok(Sinks {
            metrics,
            gate: Gate::new(settings.fail_after, settings.recover_after),
            workers,
        })
    }

    /// Counts the event in the metrics and passes any alert it confirms to
    /// the hooks.
    fn feed(&mut self, envelope: &Envelope) {
        if let Some(m) = &self.metrics
            && let Ok(mut m) = m.lock()
        {
            m.apply(envelope);
        }
        if let Some(alert) = self.gate.feed(envelope) {
            self.workers.send(&alert);
        }
    }

    /// At exit: announces what damping still holds back if `settle`, then
    /// delivers every pending alert within its budget. A second Ctrl-C or
    /// SIGTERM stops waiting.
    async fn finish(mut self, settle: bool, out: &Output) {
        if settle {
            for alert in self.gate.settle() {
                self.workers.send(&alert);
            }
        }
        tokio::select! {
            () = self.workers.drain(out) => {}
            () = crate::shutdown_signal() => {
                out.note("interrupted again: alerts not yet delivered are dropped");
            }
        }
    }
}

/// What the stop conditions need to know about each server.
struct StopRules {
    size: usize,
    any: bool,
    until: Option<Until>,
    count: Option<u64>,
    states: HashMap<Arc<str>, State>,
    polls: HashMap<Arc<str>, u64>,
}

impl StopRules {
    fn new(size: usize, plan: &WatchPlan) -> StopRules {
        StopRules {
            size,
            any: plan.common.any,
            until: plan.until,
            count: plan.count,
            states: HashMap::new(),
            polls: HashMap::new(),
        }
    }

    /// True when `pred` holds for all servers (or, with `--any`, for one).
    fn holds(&self, pred: impl Fn(State) -> bool) -> bool {
        let matching = self.states.values().filter(|s| pred(**s)).count();
        if self.any {
            matching >= 1
        } else {
            matching == self.size
        }
    }

    /// Folds an event in; returns the exit code if watching should stop.
    fn observe(&mut self, url: &Arc<str>, event: &Event) -> Option<Exit> {
        match event {
            Event::State { state, .. } => {
                self.states.insert(url.clone(), *state);
                let failed = |s: State| s == State::Failed;
                if (self.any && self.holds(failed)) || (!self.any && *state == State::Failed) {
                    return Some(Exit::Unavailable);
                }
                match self.until {
                    Some(Until::Connected) if self.holds(|s| s == State::Connected) => {
                        Some(Exit::Ok)
                    }
                    Some(Until::Disconnected) if self.holds(State::is_down) => Some(Exit::Ok),
                    // The count may have been reached while connecting.
                    _ => self.counted(),
                }
            }
            Event::Warning {
                fallback: Some(FallbackMode::Abort),
                ..
            } => {
                // All mode: one server down aborts; any mode: all of them.
                let down = self.states.values().filter(|s| s.is_down()).count();
                (!self.any || down == self.size).then_some(Exit::Unavailable)
            }
            Event::Status { .. } => {
                *self.polls.entry(url.clone()).or_default() += 1;
                self.counted()
            }
            // The server found is the one judged, with the polls so far.
            Event::Moved { from } => {
                if let Some(state) = self.states.remove(from) {
                    self.states.insert(url.clone(), state);
                }
                if let Some(polls) = self.polls.remove(from) {
                    self.polls.insert(url.clone(), polls);
                }
                None
            }
            _ => None,
        }
    }

    /// `--count N`: the exit once enough servers have had N polls and have
    /// been judged. A poll that ends while a server is still `connecting`
    /// counts, but the run waits for its verdict (`connected`, `degraded`
    /// or down), so a healthy server is never reported from `connecting`.
    fn counted(&self) -> Option<Exit> {
        let n = self.count?;
        let done = self
            .polls
            .iter()
            .filter(|(url, p)| {
                **p >= n
                    && self
                        .states
                        .get(*url)
                        .is_some_and(|s| *s != State::Connecting)
            })
            .count();
        let enough = if self.any {
            done >= 1
        } else {
            done == self.size
        };
        enough.then(|| self.exit_now())
    }

    /// The exit code that describes the fleet now, for `--count`.
    fn exit_now(&self) -> Exit {
        let exits: Vec<Exit> = self.states.values().map(|s| Exit::from(*s)).collect();
        super::combine(&exits, self.any)
    }
}
