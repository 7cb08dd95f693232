//! `comfyctl connect`: HTTP probe, WebSocket handshake and first `status`
//! message, retried with exponential backoff.

use tokio::sync::mpsc;

use crate::config::ConnectPlan;
use crate::error::{Error, Exit};
use crate::manager::{Connected, Envelope, Event, Rule, State, Status, connect_all};
use crate::render::safe::term_safe;
use crate::render::{
    Output, human,
    json::{Report, one_or_array},
    spinner::Spinner,
    style,
};

/// Connects to every server at once, retrying, and reports the outcomes.
pub async fn run(plan: &ConnectPlan, out: &Output) -> Result<Exit, Error> {
    let common = &plan.common;
    let targets = super::resolve(common, out).await?.targets;
    let fallback = common.fallback;
    let multi = targets.len() > 1;

    let spinner = Spinner::start(out, "connecting");
    let total = plan.policy.retries.saturating_add(1);
    let (tx, mut rx) = mpsc::channel(64);
    let render = async {
        while let Some(envelope) = rx.recv().await {
            if let Some(message) = progress_message(&envelope, total) {
                spinner.set(message);
            }
        }
    };
    let rule = Rule::any_if(common.any);
    let (outcomes, ()) = tokio::join!(
        connect_all(targets, &common.client, plan.policy, rule, tx),
        render
    );
    let results = &outcomes.servers;
    drop(spinner);

    if out.json {
        let reports: Vec<Report> = results
            .iter()
            .map(|c| Report::new(&c.status, fallback, Some(c.attempts)))
            .collect();
        // An array whenever the command line named a list, as for health.
        out.println(&one_or_array(&reports, multi || common.json_array))?;
    } else {
        for c in results {
            out.println(&outcome_line(&c.status, c.attempts, out))?;
        }
    }
    for c in results {
        warn_if_down(c, out, fallback);
    }
    Ok(Exit::from(outcomes.fleet))
}

fn outcome_line(status: &Status, attempts: u32, out: &Output) -> String {
    if status.available {
        return success_line(status, attempts, out);
    }
    let error = status
        .error
        .as_ref()
        .map(|e| e.message.as_str())
        .unwrap_or("unknown error");
    let s = style::bad(out).bold();
    format!(
        "{} {}: {} (after {attempts} attempt{})",
        s.apply_to("connect failed:"),
        status.url,
        term_safe(error),
        if attempts == 1 { "" } else { "s" }
    )
}

/// The fallback warning for a server that did not connect. (Its verdict
/// follows the state the connection ended in, as `watch`'s does: once HTTP
/// has answered, any WebSocket failure is `degraded`, exit 3: the server is
/// there, and a script must not restart it for what is most often a
/// proxy's doing. Only an HTTP failure is exit 1.)
fn warn_if_down(c: &Connected, out: &Output, fallback: crate::manager::FallbackMode) {
    if !c.status.available {
        out.warn(&fallback.warning(&c.status.url));
    }
}

fn success_line(status: &Status, attempts: u32, out: &Output) -> String {
    let s = style::good(out).bold();
    let version = term_safe(status.version.as_deref().unwrap_or("unknown version"));
    format!(
        "{} ComfyUI {version} at {} · queue {} · attempt {attempts}",
        s.apply_to("connected:"),
        status.url,
        human::queue_summary(status),
    )
}

/// The spinner's line for one event of `total` attempts.
fn progress_message(envelope: &Envelope, total: u32) -> Option<String> {
    Some(match &envelope.event {
        Event::State {
            state: State::Connecting,
            ..
        } => {
            format!("connecting to {} · attempt 1 of {total}", envelope.url)
        }
        Event::Reconnecting {
            attempt,
            error,
            next_delay,
        } => {
            let why = error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("failed");
            format!(
                "attempt {attempt} of {total} failed: {} · retrying in {:.1}s",
                term_safe(why),
                next_delay.as_secs_f64()
            )
        }
        _ => return None,
    })
}
