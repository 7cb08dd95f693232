//! `comfyctl health`: one check now, or with `--wait` a readiness gate that
//! polls until every requested check passes or the deadline runs out.

use std::time::Duration;

use tokio::time::Instant;

use crate::cli::{GlobalArgs, HealthArgs};
use crate::config::{self, HealthPlan, Problems};
use crate::error::{Error, Exit};
use crate::manager::readiness::{self, CheckResult, Checks};
use crate::manager::{self, ErrorKind, FallbackMode, HttpClient, Status, Target};
use crate::render::view::short_duration;
use crate::render::{Output, human, json::Report, spinner::Spinner};

/// Poll period while connections are refused (when `--interval` is longer).
const UNREACHABLE_POLL: Duration = Duration::from_millis(250);

/// One poll: the health probe, then the readiness checks if it is up.
async fn poll(http: &HttpClient, target: &Target, checks: &Checks) -> (Status, Vec<CheckResult>) {
    let (mut status, _) = http.probe(target).await;
    let results = if status.available && !checks.is_empty() {
        readiness::run(http, target, checks, &mut status).await
    } else {
        Vec::new()
    };
    (status, results)
}

/// Why a poll is not what we wait for; `None` when it is.
fn missing(plan: &HealthPlan, status: &Status, results: &[CheckResult]) -> Option<String> {
    if plan.expect_down {
        return match &status.error {
            Some(e) if e.kind == ErrorKind::ConnectionRefused => None,
            Some(e) => Some(format!("still holding the port: {}", e.message)),
            None => Some("still answering".into()),
        };
    }
    if let Some(e) = &status.error {
        return Some(e.message.clone());
    }
    results
        .iter()
        .find(|r| !r.ok)
        .map(|r| format!("{}: {}", r.check, r.detail))
}

/// What `health` found for one server.
struct Outcome {
    status: Status,
    results: Vec<CheckResult>,
    exit: Exit,
    waited: Option<Duration>,
}

/// Runs `health` for every server at once, once or waiting.
pub async fn run(global: &GlobalArgs, args: &HealthArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(global, None, None, &mut problems);
    let plan = config::health_plan(args, &mut problems);
    problems.finish()?;
    let (targets, candidates) = super::resolve_or_discover(&config, out).await?;
    let http = HttpClient::new(&config.headers, config.timeout);
    let multi = targets.len() > 1;
    let spinner = plan.wait.map(|_| Spinner::start(out, "waiting"));

    let outcomes = futures_util::future::join_all(
        targets
            .iter()
            .map(|t| check(&http, t, &candidates, &plan, out, spinner.as_ref(), multi)),
    )
    .await;
    drop(spinner);

    if multi {
        report_many(out, &plan, &outcomes, config.fallback_mode)?;
    } else if let Some(o) = outcomes.first() {
        report(out, &plan, o, config.fallback_mode)?;
    }
    let exits: Vec<Exit> = outcomes.iter().map(|o| o.exit).collect();
    Ok(super::combine(&exits, global.any))
}

/// Checks one server: once, or polling until ready or the deadline.
async fn check(
    http: &HttpClient,
    target: &Target,
    candidates: &[Target],
    plan: &HealthPlan,
    out: &Output,
    spinner: Option<&Spinner>,
    multi: bool,
) -> Outcome {
    let Some(wait) = plan.wait else {
        let (status, results) = poll(http, target, &plan.checks).await;
        let exit = verdict(plan, &status, &results, status.available);
        return Outcome {
            status,
            results,
            exit,
            waited: None,
        };
    };
    let started = Instant::now();
    let deadline = started + wait;
    let prefix = if multi {
        format!("{target}: ")
    } else {
        String::new()
    };
    let mut ever_reachable = false;
    let mut last_reason: Option<String> = None;
    let mut last: Option<(Status, Vec<CheckResult>)> = None;
    // No URL given and nothing answered at the start: keep looking on every
    // candidate until one answers like ComfyUI, then wait on that one.
    let mut target = target.clone();
    let mut candidates = candidates.to_vec();
    loop {
        let mut candidates_refused = true;
        if !candidates.is_empty() {
            let Ok(round) =
                tokio::time::timeout_at(deadline, manager::discover_round(http, &candidates)).await
            else {
                break;
            };
            match round {
                Ok(found) => {
                    out.note(&format!("found ComfyUI at {found} (no --url given)"));
                    target = found;
                    candidates.clear();
                }
                Err(refused) => candidates_refused = refused,
            }
        }
        // The deadline covers the whole command, polls included.
        let Ok((status, results)) =
            tokio::time::timeout_at(deadline, poll(http, &target, &plan.checks)).await
        else {
            break;
        };
        ever_reachable |= status.available;
        // A refused connection costs the server nothing, so a closed port
        // is polled faster: the gate opens soon after the port does. A peer
        // that answers (even with a 502 or a 401) or stays silent is polled
        // at --interval: checks may fetch MiBs, and a proxy must not be
        // loaded for the whole wait.
        let refused = candidates_refused
            && status
                .error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::ConnectionRefused);
        let pause = if refused {
            plan.interval.min(UNREACHABLE_POLL)
        } else {
            plan.interval
        };
        let reason = missing(plan, &status, &results);
        last = Some((status, results));
        let Some(reason) = reason else { break };
        if last_reason.as_deref() != Some(reason.as_str()) {
            if !out.live && !out.json {
                out.eprintln(&format!("comfyctl: not yet: {prefix}{reason}"));
            }
            last_reason = Some(reason.clone());
        }
        if let Some(spinner) = spinner {
            spinner.set(format!(
                "waited {} of {} · {prefix}{reason}",
                short_duration(started.elapsed()),
                short_duration(wait)
            ));
        }
        if refused && candidates.is_empty() {
            // Watch the port between polls: a refused connect is free, and
            // the gate opens soon after the port does.
            let left = deadline.saturating_duration_since(Instant::now());
            manager::port::wait_until_not_refused(&target, pause.min(left)).await;
            if Instant::now() >= deadline {
                break;
            }
            continue;
        }
        if Instant::now() + pause >= deadline {
            tokio::time::sleep_until(deadline).await;
            break;
        }
        tokio::time::sleep(pause).await;
    }
    let (status, results) = last.unwrap_or_else(|| {
        let error = crate::manager::http::timeout_error(&target, "the whole --wait", wait);
        (Status::failed(target.to_string(), error), Vec::new())
    });
    let exit = verdict(plan, &status, &results, ever_reachable);
    Outcome {
        status,
        results,
        exit,
        waited: Some(started.elapsed()),
    }
}

/// The exit code: 0 when what was waited for holds; otherwise 1 if the
/// server was never reachable, 3 if it was but is not ready (or, for
/// `--expect down`, is still there).
fn verdict(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    ever_reachable: bool,
) -> Exit {
    match missing(plan, status, results) {
        None => Exit::Ok,
        Some(_) if plan.expect_down => Exit::NotReady,
        Some(_) if !ever_reachable => Exit::Unavailable,
        Some(_) => Exit::NotReady,
    }
}

fn report(
    out: &Output,
    plan: &HealthPlan,
    o: &Outcome,
    fallback: FallbackMode,
) -> Result<(), Error> {
    let with_checks = !plan.checks.is_empty();
    let (status, results) = (&o.status, &o.results);
    if out.json {
        let report = Report::new(status, fallback, None)
            .with_checks(with_checks.then_some(results.as_slice()));
        out.println(&report.to_line())?;
    } else {
        let mut text = human::status_block(status, out);
        if with_checks && status.available {
            text.push('\n');
            text.push_str(&human::checks_block(results, out));
        }
        if let Some(waited) = o.waited {
            text.push_str(&format!("\n  {}", outcome_text(plan, o, waited)));
        }
        out.println(&text)?;
    }
    if !status.available && !plan.expect_down {
        out.warn(&fallback.warning(&status.url));
    }
    Ok(())
}

fn outcome_text(plan: &HealthPlan, o: &Outcome, waited: Duration) -> String {
    match missing(plan, &o.status, &o.results) {
        None if plan.expect_down => format!("gone after {}", short_duration(waited)),
        None => format!("ready after {}", short_duration(waited)),
        Some(reason) => format!(
            "gave up after {}; still missing: {reason}",
            short_duration(waited)
        ),
    }
}

/// Several servers: one row each (or a JSON array of Status).
fn report_many(
    out: &Output,
    plan: &HealthPlan,
    outcomes: &[Outcome],
    fallback: FallbackMode,
) -> Result<(), Error> {
    let with_checks = !plan.checks.is_empty();
    if out.json {
        let reports: Vec<Report> = outcomes
            .iter()
            .map(|o| {
                Report::new(&o.status, fallback, None)
                    .with_checks(with_checks.then_some(o.results.as_slice()))
            })
            .collect();
        out.println(&serde_json::to_string(&reports).expect("Status serialises"))?;
    } else {
        let rows: Vec<String> = outcomes
            .iter()
            .map(|o| {
                let mut row = human::status_row(&o.status, out);
                if let Some(reason) = missing(plan, &o.status, &o.results)
                    && o.status.available
                {
                    row.push_str(&format!(" · not ready: {reason}"));
                }
                row
            })
            .collect();
        out.println(&rows.join("\n"))?;
    }
    for o in outcomes
        .iter()
        .filter(|o| !o.status.available && !plan.expect_down)
    {
        out.warn(&fallback.warning(&o.status.url));
    }
    Ok(())
}
