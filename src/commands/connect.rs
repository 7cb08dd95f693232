//! `comfyctl connect`: HTTP probe, WebSocket handshake and first `status`
//! message, retried with exponential backoff.

use tokio::sync::mpsc;

use crate::cli::{ConnectArgs, GlobalArgs};
use crate::config::{self, Problems};
use crate::error::{Error, Exit};
use crate::manager::{ConnectionManager, Event, Status};
use crate::render::{Output, human, json::Report, spinner::Spinner};

/// Connects, retrying, and reports the outcome.
pub async fn run(global: &GlobalArgs, args: &ConnectArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(
        global,
        Some(args.retries),
        Some(&args.backoff),
        &mut problems,
    );
    problems.finish()?;
    let target = super::resolve_target(&config, out).await;
    let fallback = config.fallback_mode;
    let url = target.to_string();

    let (tx, mut rx) = mpsc::channel(64);
    let mut manager = ConnectionManager::new(config, target, Some(tx));
    let spinner = Spinner::start(out, format!("connecting to {url}"));
    let render = async {
        while let Some(event) = rx.recv().await {
            if let Some(message) = progress_message(&url, &event) {
                spinner.set(message);
            }
        }
    };
    let ((status, attempts), ()) = tokio::join!(
        async {
            let result = manager.connect().await;
            drop(manager);
            result
        },
        render
    );
    drop(spinner);

    if out.json {
        out.println(&Report::new(&status, fallback, Some(attempts)).to_line())?;
    } else if status.available {
        out.println(&success_line(&status, attempts, out))?;
    } else {
        let error = status
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("unknown error");
        let s = out.style().red().bold();
        out.println(&format!(
            "{} {url}: {error} (after {attempts} attempt{})",
            s.apply_to("connect failed:"),
            if attempts == 1 { "" } else { "s" }
        ))?;
    }
    Ok(exit_for(&status, out, fallback))
}

fn exit_for(status: &Status, out: &Output, fallback: crate::manager::FallbackMode) -> Exit {
    if status.available {
        return Exit::Ok;
    }
    out.warn(&fallback.warning(&status.url));
    match &status.error {
        Some(e) if e.is_reachable() => Exit::NotReady,
        _ => Exit::Unavailable,
    }
}

fn success_line(status: &Status, attempts: u32, out: &Output) -> String {
    let s = out.style().green().bold();
    let version = status.version.as_deref().unwrap_or("unknown version");
    format!(
        "{} ComfyUI {version} at {} · queue {} · attempt {attempts}",
        s.apply_to("connected:"),
        status.url,
        human::queue_summary(status),
    )
}

fn progress_message(url: &str, event: &Event) -> Option<String> {
    Some(match event {
        Event::Attempt { attempt, of } => {
            format!("connecting to {url} · attempt {attempt} of {of}")
        }
        Event::Retry {
            attempt,
            of,
            error,
            delay,
        } => {
            let why = error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("failed");
            format!(
                "attempt {attempt} of {of} failed: {why} · retrying in {:.1}s",
                delay.as_secs_f64()
            )
        }
        _ => return None,
    })
}
