//! `comfyctl reconnect`: try until the full session works again (HTTP,
//! WebSocket, first `status`) on every server (or, with `--any`, one), or
//! give up loudly.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use crate::config::ReconnectPlan;
use crate::error::{Error, Exit};
use crate::manager::{ErrorKind, Event, Fleet, ProbeError, State};
use crate::render::json::{ReconnectReport, one_or_array};
use crate::render::view::short_duration;
use crate::render::{Output, spinner::Spinner, style};

/// How one server's reconnection went.
#[derive(Default)]
struct Progress {
    attempts: u32,
    state: Option<State>,
    last_error: Option<ProbeError>,
    connected_after: Option<std::time::Duration>,
    failure: Option<String>,
}

/// Reconnects; exit 0 with the time it took, or 1 with "reconnection failed".
pub async fn run(plan: &ReconnectPlan, out: &Output) -> Result<Exit, Error> {
    let common = &plan.common;
    let targets = super::resolve(common, out).await?.targets;
    let deadline = plan.deadline;

    let started = Instant::now();
    let Fleet {
        events: mut rx,
        stop: stop_tx,
        tasks,
        monitors,
    } = Fleet::start(targets, Vec::new(), &common.client, &plan.settings);
    let order: Vec<Arc<str>> = monitors.into_iter().map(|(url, _)| url).collect();
    let mut progress: HashMap<Arc<str>, Progress> = order
        .iter()
        .map(|url| (url.clone(), Progress::default()))
        .collect();
    let size = order.len();

    let spinner = Spinner::start(out, "reconnecting");
    let mut give_up = pin!(tokio::time::sleep(deadline));
    let mut timed_out = false;
    let mut done = false;
    loop {
        tokio::select! {
            envelope = rx.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(p) = progress.get_mut(&envelope.url) else { continue };
                match envelope.event {
                    Event::Reconnecting { attempt, error, next_delay } => {
                        p.attempts = attempt;
                        let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                        spinner.set(format!(
                            "reconnecting to {} · attempt {attempt} failed: {} · next in {}",
                            envelope.url,
                            crate::render::safe::term_safe(why),
                            short_duration(next_delay)
                        ));
                        p.last_error = error;
                    }
                    Event::State { state, reason, .. } => {
                        p.state = Some(state);
                        match state {
                            State::Connected if p.connected_after.is_none() => {
                                p.connected_after = Some(started.elapsed());
                            }
                            State::Failed => p.failure = Some(reason),
                            State::Degraded => {
                                p.last_error = Some(ProbeError::new(ErrorKind::WsRefused, reason));
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
                let back = progress.values().filter(|p| p.connected_after.is_some()).count();
                let failed = progress.values().filter(|p| p.failure.is_some()).count();
                let finished = if common.any {
                    back >= 1 || failed == size
                } else {
                    back == size || failed >= 1
                };
                if finished && !done {
                    done = true;
                    let _ = stop_tx.send(true);
                }
            }
            () = &mut give_up, if !done => {
                timed_out = true;
                done = true;
                let _ = stop_tx.send(true);
            }
        }
    }
    drop(spinner);
    for task in tasks {
        let _ = task.await;
    }

    let mut exits = Vec::new();
    let mut lines = Vec::new();
    let mut json = Vec::new();
    // With --any, servers still trying when another one won were stopped,
    // not failed: no error line and no fallback warning for them.
    let someone_won = progress.values().any(|p| p.connected_after.is_some());
    for url in &order {
        let p = &progress[url];
        let attempts = p.attempts + u32::from(p.connected_after.is_some());
        let stopped =
            common.any && someone_won && p.connected_after.is_none() && p.failure.is_none();
        let (exit, line, error) = match p.connected_after {
            Some(took) => (
                Exit::Ok,
                Some(format!(
                    "{} {url} after {} ({attempts} attempt{})",
                    style::good(out).bold().apply_to("reconnected:"),
                    short_duration(took),
                    if attempts == 1 { "" } else { "s" }
                )),
                None,
            ),
            None if stopped => (Exit::Unavailable, None, None),
            None => {
                let why = p
                    .last_error
                    .as_ref()
                    .map_or("no answer", |e| e.message.as_str());
                let failure = match (&p.failure, timed_out) {
                    (Some(f), _) => f.clone(),
                    (None, true) => format!(
                        "reconnection failed: gave up after {}: {why}",
                        short_duration(deadline)
                    ),
                    (None, false) => format!("reconnection failed: stopped: {why}"),
                };
                let exit = p.state.map_or(Exit::Unavailable, Exit::from);
                let line = format!(
                    "{} {url}: {}",
                    style::bad(out).bold().apply_to("error:"),
                    crate::render::safe::term_safe(&failure)
                );
                // The same {kind, message, status} object as Status: the
                // kind and status of the last attempt, the whole story as
                // the message.
                let error = match &p.last_error {
                    Some(last) => ProbeError {
                        message: failure,
                        ..last.clone()
                    },
                    None if timed_out => ProbeError::new(ErrorKind::Timeout, failure),
                    None => ProbeError::new(ErrorKind::Network, failure),
                };
                (exit, Some(line), Some(error))
            }
        };
        let fallback = error.is_some().then_some(common.fallback);
        json.push(ReconnectReport {
            url,
            reconnected: exit == Exit::Ok,
            attempts,
            elapsed_ms: p.connected_after.unwrap_or(started.elapsed()).as_millis() as u64,
            error,
            fallback,
        });
        exits.push(exit);
        lines.extend(line);
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
    Ok(super::combine(&exits, common.any))
}
