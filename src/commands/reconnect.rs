//! `comfyctl reconnect`: try until the full session works again (HTTP,
//! WebSocket, first `status`) on every server (or, with `--any`, one), or
//! give up loudly.

use std::pin::pin;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::config::ReconnectPlan;
use crate::error::{Error, Exit};
use crate::manager::reconnects::{Outcome, Tally};
use crate::manager::{Envelope, Event, Fleet, Reconnected, Rule};
use crate::render::json::{ReconnectReport, one_or_array};
use crate::render::view::short_duration;
use crate::render::{Output, spinner::Spinner, style};

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
                if let Event::Reconnecting { attempt, error, next_delay } = &envelope.event {
                    let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                    spinner.set(format!(
                        "reconnecting to {} · attempt {attempt} failed: {} · next in {}",
                        envelope.url,
                        crate::render::safe::term_safe(why),
                        crate::render::view::countdown(*next_delay)
                    ));
                }
                if !tally.observe(envelope) {
                    continue;
                }
                if !done && tally.finished() {
                    done = true;
                    let _ = stop.send(true);
                }
            }
            () = &mut give_up, if !done => {
                tally.time_out();
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
    let outcomes = tally.outcomes(plan.deadline);
    let mut lines = Vec::new();
    let mut json = Vec::new();
    for r in &outcomes.servers {
        lines.extend(outcome_line(r, out));
        let error = match &r.outcome {
            Outcome::Failed(_, error) => Some(error.clone()),
            _ => None,
        };
        let fallback = error.is_some().then_some(common.fallback);
        json.push(ReconnectReport {
            url: &r.url,
            reconnected: matches!(r.outcome, Outcome::Reconnected(_)),
            attempts: r.attempts,
            elapsed_ms: r.elapsed.as_millis() as u64,
            error,
            fallback,
        });
        if fallback.is_some() {
            out.warn(&common.fallback.warning(&r.url));
        }
    }
    if out.json {
        // An array whenever the command line named a list, as for health.
        out.println(&one_or_array(&json, common.json_array))?;
    } else {
        out.println(&lines.join("\n"))?;
    }
    Ok(Exit::from(outcomes.fleet))
}

/// The human line for one server; none for one stopped because another won.
fn outcome_line(r: &Reconnected, out: &Output) -> Option<String> {
    let (url, attempts) = (&r.url, r.attempts);
    match &r.outcome {
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
