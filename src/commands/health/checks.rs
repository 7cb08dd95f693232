//! The job checks (`--max-failed`, `--max-job-time`) as ordinary readiness
//! checks: a `checks` entry each, a ✓ or ✗ line, `fully_ready`.

use super::*;
use crate::manager::jobs::{Job, JobStatus};
use crate::manager::readiness::Check;

/// What one poll read of the jobs: the report, the page it came from and
/// the server's clock when it answered (epoch ms).
pub(super) type JobsRead = (JobsReport, Vec<Job>, Option<u64>);

/// The results of the job checks `checks` asks for; `jobs` is `None` when
/// nothing was read (the server is down: no checks run then).
pub(super) fn job_checks(
    checks: &Checks,
    jobs: Option<&Result<JobsRead, String>>,
) -> Vec<CheckResult> {
    let Some(jobs) = jobs else {
        return Vec::new();
    };
    let mut results = Vec::new();
    if let Some(max) = checks.max_failed {
        let within = checks.failed_within;
        results.push(match jobs {
            Err(e) => unreadable(Check::MaxFailed { max, within }, e),
            Ok((_, page, now)) => failed_check(max, within, page, *now),
        });
    }
    if let Some(max) = checks.max_job_time {
        let check = Check::MaxJobTime(max);
        results.push(match jobs {
            Err(e) => unreadable(check, e),
            Ok((report, ..)) => job_time_check(check, report, max),
        });
    }
    results
}

fn unreadable(check: Check, e: &str) -> CheckResult {
    CheckResult::new(check, false, format!("cannot read the job list: {e}"))
}

/// `failed jobs ≤ N in W`: failures that ended within the window, on the
/// server's clock: its `Date` header, else the newest timestamp in the page
/// (never our clock against its timestamps). A failure with no end time
/// cannot be shown to be old, so it counts.
fn failed_check(max: u32, within: Duration, page: &[Job], server_now: Option<u64>) -> CheckResult {
    let check = Check::MaxFailed { max, within };
    let newest = page
        .iter()
        .flat_map(|j| [j.create_ms, j.start_ms, j.end_ms])
        .flatten()
        .max();
    let since = server_now
        .or(newest)
        .map(|now| now.saturating_sub(within.as_millis() as u64));
    let failed = page
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .filter(|j| match (j.end_ms, since) {
            (Some(end), Some(since)) => end >= since,
            _ => true,
        })
        .count();
    let window = humantime::format_duration(within);
    let base = format!(
        "{failed} of the newest {} jobs failed in the last {window}",
        page.len()
    );
    let ok = failed <= max as usize;
    let detail = if ok {
        base
    } else {
        format!("{base}, more than {max}")
    };
    CheckResult::new(check, ok, detail)
}

/// `running job ≤ D`: the running job's age as the jobs report gives it. An
/// age that is not known passes, and says so.
fn job_time_check(check: Check, report: &JobsReport, max: Duration) -> CheckResult {
    let Some(running) = &report.running else {
        return CheckResult::new(check, true, "no job is running");
    };
    let id: String = running.id.chars().take(8).collect();
    let Some(age) = running.age_ms else {
        return CheckResult::new(
            check,
            true,
            format!("job {id} is running; its age is unknown"),
        );
    };
    if age <= max.as_millis() as u64 {
        return CheckResult::new(check, true, format!("job {id} has run for {}", exact(age)));
    }
    let detail = format!(
        "job {id} has run for {}",
        jobs::over_limit(Duration::from_millis(age), max)
    );
    CheckResult::new(check, false, detail)
}

/// A duration precise enough to compare with a limit: `850ms`, `1.05s`,
/// `16.2s`, then whole seconds (`2m 5s`) from a minute on.
fn exact(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..10_000 => format!("{:.2}s", ms as f64 / 1000.0),
        10_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => short_duration(Duration::from_millis(ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_at(id: &str, end: u64) -> Job {
        Job {
            id: id.into(),
            status: JobStatus::Failed,
            create_ms: Some(end - 10),
            start_ms: Some(end - 5),
            end_ms: Some(end),
            error: None,
        }
    }

    const TEN_MINUTES: Duration = Duration::from_secs(600);

    #[test]
    fn only_failures_within_the_window_of_the_server_clock_count() {
        let now = 10_000_000;
        let page = vec![
            failed_at("new", now - 1000),
            failed_at("old", now - 700_000),
        ];
        let r = failed_check(0, TEN_MINUTES, &page, Some(now));
        assert!(!r.ok);
        assert_eq!(
            r.detail,
            "1 of the newest 2 jobs failed in the last 10m, more than 0"
        );
        assert!(failed_check(1, TEN_MINUTES, &page, Some(now)).ok);
        // An idle server an hour later: its old failures are old.
        assert!(failed_check(0, TEN_MINUTES, &page, Some(now + 3_600_000)).ok);
        // With no Date, the newest job's own time is "now": never our clock.
        let r = failed_check(0, TEN_MINUTES, &page, None);
        assert!(r.detail.starts_with("1 of"), "{}", r.detail);
    }

    #[test]
    fn the_job_time_says_by_how_much_it_is_over() {
        // The running job started when the job before it ended.
        let report = |age_ms: Option<u64>| JobsReport {
            running: Some(jobs::RunningJob {
                id: "0e163167-aaaa".into(),
                age_ms,
            }),
            recent: Default::default(),
            last_failure: None,
        };
        crate::config::name_flags();
        let max = Duration::from_secs(1);
        let over = job_time_check(Check::MaxJobTime(max), &report(Some(1049)), max);
        assert!(!over.ok);
        assert_eq!(
            over.detail,
            "job 0e163167 has run for 1.049s, 49ms over --max-job-time 1s"
        );
        assert!(job_time_check(Check::MaxJobTime(max), &report(Some(1000)), max).ok);
        assert!(job_time_check(Check::MaxJobTime(max), &report(None), max).ok);
        assert_eq!(over.check.to_string(), "running job ≤ 1s");
        let check = Check::MaxFailed {
            max: 2,
            within: TEN_MINUTES,
        };
        assert_eq!(check.to_string(), "failed jobs ≤ 2 in 10m");
    }
}
