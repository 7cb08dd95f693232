//! `comfyctl watch`: the live monitor. The manager watches; this glue
//! renders its events and decides when to stop and with which exit code.

use std::pin::pin;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, UntilArg, WatchArgs};
use crate::config::{self, Problems};
use crate::error::{Error, Exit};
use crate::manager::{Event, FallbackMode, HttpClient, Monitor, State, Stop};
use crate::render::{self, Output};

/// Watches until Ctrl-C/SIGTERM (exit 0, after the summary), `--count`,
/// `--until`, `--fallback abort` (exit 1 once down), or reconnection giving
/// up (exit 1).
pub async fn run(global: &GlobalArgs, args: &WatchArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(global, None, Some(&args.policy.backoff), &mut problems);
    let settings = config::watch_settings(&config, args, &mut problems);
    problems.finish()?;
    let target = super::resolve_target(&config, out).await;

    let (tx, mut rx) = mpsc::channel(256);
    let (stop_tx, stop) = Stop::new();
    let http = HttpClient::new(&config.headers, config.timeout);
    let monitor = Monitor::new(target, http, config.headers.clone(), settings.clone(), tx);
    let task = tokio::spawn(monitor.run(stop));

    let mut renderer = render::for_stream(*out, settings.interval);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut signal = pin!(crate::shutdown_signal());
    let mut exit: Option<Exit> = None;
    let mut state = State::Connecting;
    let mut polls = 0u64;
    loop {
        tokio::select! {
            envelope = rx.recv() => {
                let Some(envelope) = envelope else { break };
                renderer.event(&envelope)?;
                let verdict = match &envelope.event {
                    Event::State { state: now, .. } => {
                        state = *now;
                        match (*now, args.until) {
                            (State::Failed, _) => Some(Exit::Unavailable),
                            (State::Connected, Some(UntilArg::Connected)) => Some(Exit::Ok),
                            (State::Disconnected, Some(UntilArg::Disconnected)) => Some(Exit::Ok),
                            _ => None,
                        }
                    }
                    Event::Warning { fallback: Some(FallbackMode::Abort), .. } => Some(Exit::Unavailable),
                    Event::Status { .. } => {
                        polls += 1;
                        args.count.filter(|n| polls >= *n).map(|_| exit_for_state(state))
                    }
                    _ => None,
                };
                if let Some(v) = verdict && exit.is_none() {
                    exit = Some(v);
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
    let _ = task.await;
    Ok(exit.unwrap_or(Exit::Ok))
}

/// The exit code that describes a state, for `--count`.
pub fn exit_for_state(state: State) -> Exit {
    match state {
        State::Connected => Exit::Ok,
        State::Degraded => Exit::NotReady,
        _ => Exit::Unavailable,
    }
}
