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
use crate::manager::watch_rules::{StopRules, Until as StopAt};
use crate::manager::{Envelope, Fleet, Rule};
use crate::render::{self, Output, Renderer};
use tokio::sync::mpsc;

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
        .map(|(_, url, clock)| (url.to_string(), clock))
        .collect();
    let mut sinks = Sinks::start(plan, activity, out).await?;

    let mut renderer = render::for_stream(*out, settings.interval, count);
    let until = plan.until.map(|u| match u {
        Until::Connected => StopAt::Connected,
        Until::Disconnected => StopAt::Disconnected,
    });
    let mut rules = StopRules::new(count, Rule::any_if(plan.common.any), until, plan.count);
    let ending = follow(&mut rx, &stop_tx, renderer.as_mut(), &mut sinks, &mut rules).await;
    drop(renderer);
    for task in tasks {
        let _ = task.await;
    }
    // A stop rule ended the watch: what damping still holds back is
    // announced, as the exit code reports it.
    sinks.finish(matches!(ending, Ending::Rule(_)), out).await;
    match ending {
        Ending::Rule(exit) => Ok(exit),
        Ending::Signal | Ending::Drained => Ok(Exit::Ok),
        Ending::Output(e) => Err(e),
    }
}

/// Why a watch ended.
enum Ending {
    /// A stop rule (`--until`, `--count`, `--fallback abort`, giving up).
    Rule(Exit),
    /// Ctrl-C or SIGTERM.
    Signal,
    /// Every monitor ended by itself.
    Drained,
    /// The output failed (stdout closed: `watch | head`).
    Output(Error),
}

/// Shows and passes on events until every monitor has ended; the first
/// reason to stop stops them all. What they report while stopping (a
/// `reconnecting` after the `disconnected` that ended the watch) is shown
/// but not passed to the sinks: the last alert is the state that ended it.
async fn follow(
    rx: &mut mpsc::Receiver<Envelope>,
    stop: &tokio::sync::watch::Sender<bool>,
    renderer: &mut dyn Renderer,
    sinks: &mut Sinks,
    rules: &mut StopRules,
) -> Ending {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut signal = pin!(crate::platform::signals::shutdown());
    let mut ending: Option<Ending> = None;
    let end = |ending: &mut Option<Ending>, why: Ending| {
        if ending.is_none() {
            *ending = Some(why);
            let _ = stop.send(true);
        }
    };
    loop {
        tokio::select! {
            envelope = rx.recv() => {
                let Some(envelope) = envelope else { break };
                if ending.is_none() {
                    sinks.feed(&envelope);
                }
                let broken = matches!(ending, Some(Ending::Output(_)));
                if !broken && let Err(e) = renderer.event(&envelope) {
                    // Still stop the monitors and deliver the alerts.
                    ending = None;
                    end(&mut ending, Ending::Output(Error::from(e)));
                }
                if let Some(verdict) = rules.observe(envelope.id, &envelope.event) {
                    end(&mut ending, Ending::Rule(Exit::from(verdict)));
                }
            }
            _ = ticker.tick() => renderer.tick(),
            () = &mut signal, if ending.is_none() => end(&mut ending, Ending::Signal),
        }
    }
    ending.unwrap_or(Ending::Drained)
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
            workers.add_program(program.clone(), sinks.hook_timeout, Arc::new(*out));
        }
        if let Some(url) = &sinks.webhook {
            workers.add_webhook(url.clone(), sinks.hook_timeout, Arc::new(*out));
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
            () = crate::platform::signals::shutdown() => {
                out.note("interrupted again: alerts not yet delivered are dropped");
            }
        }
    }
}
