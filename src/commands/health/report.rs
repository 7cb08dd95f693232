//! `health`'s report: one block or one row per server, or JSON.

use super::*;

/// One server: its status block (or JSON object), checks, jobs and outcome.
pub(super) fn report(
    out: &Output,
    plan: &HealthPlan,
    o: &Outcome,
    fallback: FallbackMode,
) -> Result<(), Error> {
    let with_checks = !plan.checks.is_empty();
    let (status, results) = (&o.status, &o.results);
    let gone = plan.expect_down && o.verdict == crate::manager::Verdict::Ready;
    if out.json {
        let mut report = Report::new(status, fallback, None)
            .with_checks(with_checks.then_some(results.as_slice()));
        if plan.expect_down {
            // Going away was asked for: no fallback to fall back to.
            report = report.without_fallback();
        } else {
            report = report.with_jobs(o.jobs.as_ref().and_then(|j| j.as_ref().ok()));
        }
        out.println(&report.to_line())?;
    } else {
        let mut text = if gone {
            human::gone_line(status, out)
        } else {
            human::status_block(status, out)
        };
        if with_checks && status.available {
            text.push('\n');
            text.push_str(&human::checks_block(results, out));
        }
        match &o.jobs {
            Some(Ok(report)) => {
                let label = style::dim(out).apply_to(format!("{:<9}", "jobs"));
                text.push_str(&format!("\n  {label}{}", jobs_text::health_line(report)));
            }
            Some(Err(e)) => {
                let label = style::dim(out).apply_to(format!("{:<9}", "jobs"));
                text.push_str(&format!("\n  {label}unknown: {}", term_safe(e)));
            }
            None => {}
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
    if let Some(e) = &o.status.error
        && e.kind == ErrorKind::ProcessExited
    {
        return format!("gave up after {}: {}", short_duration(waited), e.message);
    }
    match missing(plan, &o.status, &o.results) {
        None if plan.expect_down => format!("gone after {}", short_duration(waited)),
        None => format!("ready after {}", short_duration(waited)),
        Some(reason) if plan.expect_down => {
            format!("gave up after {}; {reason}", short_duration(waited))
        }
        Some(reason) => format!(
            "gave up after {}; still missing: {}",
            short_duration(waited),
            term_safe(&reason)
        ),
    }
}

/// Several servers: one row each (or a JSON array of reports).
pub(super) fn report_many(
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
                let report = Report::new(&o.status, fallback, None)
                    .with_checks(with_checks.then_some(o.results.as_slice()));
                if plan.expect_down {
                    report.without_fallback()
                } else {
                    report.with_jobs(o.jobs.as_ref().and_then(|j| j.as_ref().ok()))
                }
            })
            .collect();
        out.println(&serde_json::to_string(&reports).expect("a report always serialises"))?;
    } else {
        let rows: Vec<String> = outcomes
            .iter()
            .map(|o| {
                if plan.expect_down && o.verdict == crate::manager::Verdict::Ready {
                    return human::gone_line(&o.status, out);
                }
                let mut row = human::status_row(&o.status, out);
                if let Some(reason) = missing(plan, &o.status, &o.results)
                    && o.status.available
                {
                    row.push_str(&format!(" · not ready: {}", term_safe(&reason)));
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
