//! `comfyctl reconnect`: try until the full session works again (HTTP,
//! WebSocket, first `status`), or give up loudly.

use std::pin::pin;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, ReconnectArgs};
use crate::config::{self, Problems};
use crate::error::{Error, Exit};
use crate::manager::{Event, HttpClient, Monitor, ProbeError, State, Stop};
use crate::render::view::short_duration;
use crate::render::{Output, spinner::Spinner};

/// Reconnects; exit 0 with the time it took, or 1 with "reconnection failed".
pub async fn run(global: &GlobalArgs, args: &ReconnectArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(global, None, Some(&args.policy.backoff), &mut problems);
    let settings =
        config::reconnect_policy(&config, &args.policy, Some(&args.deadline), &mut problems);
    problems.finish()?;
    let target = super::resolve_target(&config, out).await;
    let url = target.to_string();
    let deadline = settings.deadline.expect("reconnect always has a deadline");

    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel(64);
    let (stop_tx, stop) = Stop::new();
    let http = HttpClient::new(&config.headers, config.timeout);
    let monitor = Monitor::new(target, http, config.headers.clone(), settings, tx);
    let task = tokio::spawn(monitor.run(stop));

    let spinner = Spinner::start(out, format!("reconnecting to {url}"));
    let mut give_up = pin!(tokio::time::sleep(deadline));
    let mut attempts = 0u32;
    let mut last_error: Option<ProbeError> = None;
    let mut last_state = State::Connecting;
    let mut outcome: Option<Exit> = None;
    let mut failure = String::new();
    loop {
        tokio::select! {
            envelope = rx.recv() => {
                let Some(envelope) = envelope else { break };
                match envelope.event {
                    Event::Reconnecting { attempt, error, next_delay } => {
                        attempts = attempt;
                        let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                        spinner.set(format!(
                            "reconnecting to {url} · attempt {attempt} failed: {why} · next in {}",
                            short_duration(next_delay)
                        ));
                        last_error = error;
                    }
                    Event::State { state, reason, .. } => {
                        last_state = state;
                        if state == State::Connected && outcome.is_none() {
                            outcome = Some(Exit::Ok);
                            let _ = stop_tx.send(true);
                        } else if state == State::Failed && outcome.is_none() {
                            failure = reason;
                            outcome = Some(Exit::Unavailable);
                        } else if state == State::Degraded {
                            last_error = Some(ProbeError::new(crate::manager::ErrorKind::WsRefused, reason));
                        }
                    }
                    _ => {}
                }
            }
            () = &mut give_up, if outcome.is_none() => {
                let why = last_error.as_ref().map_or("no answer", |e| e.message.as_str());
                failure = format!("reconnection failed: gave up after {}: {why}", short_duration(deadline));
                outcome = Some(if last_state == State::Degraded { Exit::NotReady } else { Exit::Unavailable });
                let _ = stop_tx.send(true);
            }
        }
    }
    drop(spinner);
    let _ = task.await;
    let elapsed = started.elapsed();
    match outcome.unwrap_or(Exit::Unavailable) {
        Exit::Ok => {
            let attempts = attempts + 1;
            if out.json {
                out.println(
                    &serde_json::json!({
                        "reconnected": true, "url": url, "attempts": attempts,
                        "elapsed_ms": elapsed.as_millis() as u64,
                    })
                    .to_string(),
                )?;
            } else {
                out.println(&format!(
                    "{} {url} after {} ({attempts} attempt{})",
                    out.style().green().bold().apply_to("reconnected:"),
                    short_duration(elapsed),
                    if attempts == 1 { "" } else { "s" }
                ))?;
            }
            Ok(Exit::Ok)
        }
        exit => {
            let failure = if failure.is_empty() {
                "reconnection failed".to_string()
            } else {
                failure
            };
            if out.json {
                out.println(
                    &serde_json::json!({
                        "reconnected": false, "url": url, "attempts": attempts,
                        "elapsed_ms": elapsed.as_millis() as u64, "error": failure,
                        "fallback": config.fallback_mode,
                    })
                    .to_string(),
                )?;
            } else {
                out.println(&format!(
                    "{} {url}: {failure}",
                    out.style().red().bold().apply_to("error:")
                ))?;
            }
            out.warn(&config.fallback_mode.warning(&url));
            Ok(exit)
        }
    }
}
