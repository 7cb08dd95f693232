//! `comfyctl health`: one check now, or with `--wait` a readiness gate that
//! polls until every requested check passes or the deadline runs out.

use std::time::Duration;

use crate::config::HealthPlan;
use crate::error::{Error, Exit};
use crate::manager::jobs::{self, JobsReport};
use crate::manager::readiness::{self, CheckResult, Checks};
use crate::manager::{self, ErrorKind, FallbackMode, HttpClient, ProbeError, Status, Target};
use crate::render::jobs as jobs_text;
use crate::render::safe::term_safe;
use crate::render::view::short_duration;
use crate::render::{Output, human, json::Report, spinner::Spinner, style};

mod checks;
mod pid;
mod report;
mod wait;

use report::{report, report_many};

/// The jobs part of a poll: the report, or why there is none.
type JobsResult = Option<Result<JobsReport, String>>;

/// What one poll found: the status, the readiness checks, the jobs.
type Polled = (Status, Vec<CheckResult>, JobsResult);

/// What the job list request found: its page and the server's clock.
type JobsFetched = Result<(jobs::JobSource, Vec<jobs::Job>, Option<u64>), manager::ProbeError>;

/// One poll: the health probe, the readiness checks' questions and one
/// small page of jobs, with `--timeout` bounding the whole poll, not each
/// step in turn. `ahead`: ask everything at once, before the probe says
/// whether the server is up (one-shot checks, and a server last seen up);
/// otherwise the probe goes alone and the rest follows only if it is up, in
/// what is left of the budget, so a server that is down or booting is asked
/// three questions per poll, not five.
async fn poll(
    http: &HttpClient,
    target: &Target,
    plan: &HealthPlan,
    with_jobs: bool,
    ahead: bool,
) -> Polled {
    let budget = plan.common.client.timeout;
    let due = readiness::Due {
        deadline: tokio::time::Instant::now() + budget,
        budget,
    };
    let rest = ask(http, target, &plan.checks, with_jobs, due);
    let ((mut status, queue), (answers, jobs)) = if ahead {
        tokio::join!(http.probe(target), rest)
    } else {
        let probed = http.probe(target).await;
        let rest = match probed.0.available {
            true => rest.await,
            false => (None, None),
        };
        (probed, rest)
    };
    if !status.available {
        return (status, Vec::new(), None);
    }
    let jobs = jobs.map(|read| {
        read.map(|(_, page, date)| {
            let report = jobs::report(&page, queue.as_ref());
            (report, page, date)
        })
        .map_err(|e| e.message)
    });
    let results = match answers {
        Some(answers) => {
            let extra = checks::job_checks(&plan.checks, jobs.as_ref());
            readiness::judge(&plan.checks, &answers, &mut status, extra)
        }
        None => Vec::new(),
    };
    let jobs = jobs.map(|read| read.map(|(report, ..)| report));
    (status, results, jobs)
}

/// Everything but the probe, at once and by `due`: the checks' questions
/// (when there are checks) and the job list (when asked).
async fn ask(
    http: &HttpClient,
    target: &Target,
    checks: &Checks,
    with_jobs: bool,
    due: readiness::Due,
) -> (Option<readiness::Answers>, Option<JobsFetched>) {
    let answers = async {
        match checks.is_empty() {
            true => None,
            false => Some(readiness::fetch(http, target, checks, due).await),
        }
    };
    // The job list is the one chain of requests (a 404 from the Jobs API,
    // then `/history`): it gets what is left of the budget.
    let jobs = async {
        let read = tokio::time::timeout_at(due.deadline, jobs::fetch_recent(http, target));
        match with_jobs {
            true => Some(read.await.unwrap_or_else(|_| {
                Err(manager::http::timeout_error(
                    target,
                    "the job list",
                    due.budget,
                ))
            })),
            false => None,
        }
    };
    tokio::join!(answers, jobs)
}

/// Why a poll is not what we wait for; `None` when it is.
fn missing(plan: &HealthPlan, status: &Status, results: &[CheckResult]) -> Option<String> {
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
}

/// What `health` found for one server.
struct Outcome {
    status: Status,
    results: Vec<CheckResult>,
    jobs: JobsResult,
    verdict: manager::Verdict,
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
    let rule = manager::Rule::any_if(common.any);
    Ok(Exit::from(rule.fleet(outcomes.iter().map(|o| o.verdict))))
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
        let (status, results, jobs) = poll(self.http, target, plan, !plan.expect_down, true).await;
        let verdict = verdict(plan, &status, &results, status.available);
        Outcome {
            status,
            results,
            jobs,
            verdict,
            waited: None,
        }
    }
}

/// The verdict: ready when what was waited for holds; otherwise
/// unavailable if the server was never reachable, not ready if it was (or,
/// for `--expect down`, is still there).
fn verdict(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    ever_reachable: bool,
) -> manager::Verdict {
    // With `--expect down`, what is missing is the server's absence: it is
    // still there.
    let ready = missing(plan, status, results).is_none();
    manager::Verdict::judge(plan.expect_down || ever_reachable, ready)
}
