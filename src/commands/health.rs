//! `comfyctl health`: one check now, or with `--wait` a readiness gate that
//! polls until every requested check passes or the deadline runs out.

use std::time::Duration;

use tokio::time::Instant;

use crate::cli::{GlobalArgs, HealthArgs};
use crate::config::{self, HealthPlan, Problems};
use crate::error::{Error, Exit};
use crate::manager::readiness::{self, CheckResult, Checks};
use crate::manager::{ErrorKind, FallbackMode, HttpClient, Status, Target};
use crate::render::view::short_duration;
use crate::render::{Output, human, json::Report, spinner::Spinner};

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

/// Runs `health`, once or waiting.
pub async fn run(global: &GlobalArgs, args: &HealthArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(global, None, None, &mut problems);
    let plan = config::health_plan(args, &mut problems);
    problems.finish()?;
    let target = super::resolve_target(&config, out).await;
    let http = HttpClient::new(&config.headers, config.timeout);

    let Some(wait) = plan.wait else {
        let (status, results) = poll(&http, &target, &plan.checks).await;
        let exit = verdict(&plan, &status, &results, status.available);
        report(out, &plan, &status, &results, config.fallback_mode, None)?;
        return Ok(exit);
    };

    let started = Instant::now();
    let deadline = started + wait;
    let spinner = Spinner::start(out, format!("waiting for {target}"));
    let mut ever_reachable = false;
    let mut last_reason: Option<String> = None;
    let mut last: Option<(Status, Vec<CheckResult>)> = None;
    loop {
        // The deadline covers the whole command, polls included.
        let Ok((status, results)) =
            tokio::time::timeout_at(deadline, poll(&http, &target, &plan.checks)).await
        else {
            break;
        };
        ever_reachable |= status.available;
        let reason = missing(&plan, &status, &results);
        last = Some((status, results));
        let Some(reason) = reason else { break };
        if last_reason.as_deref() != Some(reason.as_str()) {
            if !out.live && !out.json {
                out.eprintln(&format!("comfyctl: not yet: {reason}"));
            }
            last_reason = Some(reason.clone());
        }
        spinner.set(format!(
            "waited {} of {} · {reason}",
            short_duration(started.elapsed()),
            short_duration(wait)
        ));
        if Instant::now() + plan.interval >= deadline {
            tokio::time::sleep_until(deadline).await;
            break;
        }
        tokio::time::sleep(plan.interval).await;
    }
    drop(spinner);

    let (status, results) = last.unwrap_or_else(|| {
        let error = crate::manager::http::timeout_error(&target, "the whole --wait", wait);
        (Status::failed(target.to_string(), error), Vec::new())
    });
    let exit = verdict(&plan, &status, &results, ever_reachable);
    report(
        out,
        &plan,
        &status,
        &results,
        config.fallback_mode,
        Some(started.elapsed()),
    )?;
    Ok(exit)
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
    status: &Status,
    results: &[CheckResult],
    fallback: FallbackMode,
    waited: Option<Duration>,
) -> Result<(), Error> {
    let with_checks = !plan.checks.is_empty();
    if out.json {
        let report =
            Report::new(status, fallback, None).with_checks(with_checks.then_some(results));
        out.println(&report.to_line())?;
    } else {
        let mut text = human::status_block(status, out);
        if with_checks && status.available {
            text.push('\n');
            text.push_str(&human::checks_block(results, out));
        }
        if let Some(waited) = waited {
            let outcome = match missing(plan, status, results) {
                None if plan.expect_down => format!("gone after {}", short_duration(waited)),
                None => format!("ready after {}", short_duration(waited)),
                Some(reason) => format!(
                    "gave up after {}; still missing: {reason}",
                    short_duration(waited)
                ),
            };
            text.push_str(&format!("\n  {outcome}"));
        }
        out.println(&text)?;
    }
    if !status.available && !plan.expect_down {
        out.warn(&fallback.warning(&status.url));
    }
    Ok(())
}
