//! `comfyctl health`: one check now, or with `--wait` a readiness gate that
//! polls until every requested check passes or the deadline runs out.

use std::time::Duration;

use crate::config::HealthPlan;
use crate::error::{Error, Exit};
use crate::manager::jobs::{self, JobsReport};
use crate::manager::readiness::{self, CheckResult, Checks};
use crate::manager::{self, ErrorKind, FallbackMode, HttpClient, Status, Target};
use crate::render::jobs as jobs_text;
use crate::render::safe::term_safe;
use crate::render::view::short_duration;
use crate::render::{Output, human, json::Report, spinner::Spinner, style};

mod report;
mod wait;

use report::{report, report_many};

/// The jobs part of a poll: the report, or why there is none.
type JobsResult = Option<Result<JobsReport, String>>;

/// What one poll found: the status, the readiness checks, the jobs.
type Polled = (Status, Vec<CheckResult>, JobsResult);

/// One poll: the health probe, then the readiness checks and one small page
/// of jobs if it is up.
async fn poll(http: &HttpClient, target: &Target, checks: &Checks, with_jobs: bool) -> Polled {
    let (mut status, queue) = http.probe(target).await;
    let results = if status.available && !checks.is_empty() {
        readiness::run(http, target, checks, &mut status).await
    } else {
        Vec::new()
    };
    let jobs = if status.available && with_jobs {
        Some(
            jobs::fetch_recent(http, target)
                .await
                .map(|(_, page)| jobs::report(&page, queue.as_ref()))
                .map_err(|e| e.message),
        )
    } else {
        None
    };
    (status, results, jobs)
}

/// Why the jobs are not what `--max-failed` / `--max-job-time` ask for.
fn jobs_missing(plan: &HealthPlan, jobs: &JobsResult) -> Option<String> {
    if plan.max_failed.is_none() && plan.max_job_time.is_none() {
        return None;
    }
    let report = match jobs {
        None => return None,
        Some(Err(e)) => return Some(format!("jobs: cannot read the job list: {e}")),
        Some(Ok(r)) => r,
    };
    if let Some(max) = plan.max_failed
        && report.recent.failed > max
    {
        return Some(format!(
            "jobs: {} of the newest {} failed (--max-failed {max})",
            report.recent.failed,
            jobs::HEALTH_PAGE
        ));
    }
    if let Some(max) = plan.max_job_time
        && let Some(running) = &report.running
        && let Some(age) = running.age_ms
        && age > max.as_millis() as u64
    {
        return Some(format!(
            "jobs: the running job has run for {}",
            jobs::over_limit(Duration::from_millis(age), max)
        ));
    }
    None
}

/// Why a poll is not what we wait for; `None` when it is.
fn missing(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    jobs: &JobsResult,
) -> Option<String> {
    if plan.expect_down {
        return match &status.error {
            Some(e) if e.kind == ErrorKind::ConnectionRefused => None,
            Some(e) => Some(format!("the port is still held: {}", e.message)),
            None => Some("the server is still up and answering".into()),
        };
    }
    if let Some(e) = &status.error {
        return Some(e.message.clone());
    }
    results
        .iter()
        .find(|r| !r.ok)
        .map(|r| format!("{}: {}", r.check, r.detail))
        .or_else(|| jobs_missing(plan, jobs))
}

/// What `health` found for one server.
struct Outcome {
    status: Status,
    results: Vec<CheckResult>,
    jobs: JobsResult,
    exit: Exit,
    waited: Option<Duration>,
}

/// Runs `health` for every server at once, once or waiting.
pub async fn run(plan: &HealthPlan, out: &Output) -> Result<Exit, Error> {
    let common = &plan.common;
    let manager::Resolved {
        targets,
        candidates,
        ..
    } = super::resolve(common, out).await?;
    let http = HttpClient::new(&common.client);
    let multi = targets.len() > 1;
    let spinner = plan.wait.map(|_| Spinner::start(out, "waiting"));
    let checker = Checker {
        http: &http,
        plan,
        out,
        spinner: spinner.as_ref(),
        multi,
    };

    let outcomes =
        futures_util::future::join_all(targets.iter().map(|t| checker.check(t, &candidates))).await;
    drop(spinner);

    // JSON is an array whenever the command line named a list (see
    // `Common::json_array`), so its shape never depends on a count.
    if multi || (out.json && common.json_array) {
        report_many(out, plan, &outcomes, common.fallback)?;
    } else if let Some(o) = outcomes.first() {
        report(out, plan, o, common.fallback)?;
    }
    let exits: Vec<Exit> = outcomes.iter().map(|o| o.exit).collect();
    Ok(super::combine(&exits, common.any))
}

/// What checking any one server needs, shared by all of them.
struct Checker<'a> {
    http: &'a HttpClient,
    plan: &'a HealthPlan,
    out: &'a Output,
    /// The `--wait` spinner; `None` when checking once.
    spinner: Option<&'a Spinner>,
    /// Several servers: progress lines name the one they are about.
    multi: bool,
}

impl Checker<'_> {
    /// Checks one server: once, or polling until ready or the deadline.
    async fn check(&self, target: &Target, candidates: &[Target]) -> Outcome {
        match self.plan.wait {
            Some(wait) => wait::Wait::new(self, target, candidates, wait).run().await,
            None => self.once(target).await,
        }
    }

    /// One poll and its verdict, without waiting.
    async fn once(&self, target: &Target) -> Outcome {
        let plan = self.plan;
        let (status, results, jobs) =
            poll(self.http, target, &plan.checks, !plan.expect_down).await;
        let exit = verdict(plan, &status, &results, &jobs, status.available);
        Outcome {
            status,
            results,
            jobs,
            exit,
            waited: None,
        }
    }
}

/// The exit code: 0 when what was waited for holds; otherwise 1 if the
/// server was never reachable, 3 if it was but is not ready (or, for
/// `--expect down`, is still there).
fn verdict(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    jobs: &JobsResult,
    ever_reachable: bool,
) -> Exit {
    // With `--expect down`, what is missing is the server's absence: it is
    // still there.
    let ready = missing(plan, status, results, jobs).is_none();
    Exit::judge(plan.expect_down || ever_reachable, ready)
}
