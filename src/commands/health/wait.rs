//! `health --wait`: poll one server until what was asked for holds or the
//! deadline runs out, narrating what is still missing.

use std::sync::Mutex;

use tokio::time::Instant;

use super::pid::Watch;
use super::*;
use crate::manager::retry::{self, Attempts, Discovery, Failure, Policy};

/// Off a terminal, one "still waiting" line this often, so a CI log shows
/// the gate is alive through a cold start of minutes.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How often `--pid` is looked at: a question to the kernel, not the server,
/// so a dead process ends the wait within this, whatever `--interval` is.
const PID_LOOK: Duration = Duration::from_millis(200);

/// One server's wait: where it is, what the last poll found, and the clock.
pub(super) struct Wait<'a> {
    checker: &'a Checker<'a>,
    target: Target,
    /// No URL given and nothing answered at the start: the local ports to
    /// keep looking on until one answers like ComfyUI; empty once found.
    candidates: Vec<Target>,
    wait: Duration,
    started: Instant,
    deadline: Instant,
    /// Names the server in progress lines when there are several.
    prefix: String,
    ever_reachable: bool,
    last_reason: Option<String>,
    last: Option<Polled>,
}

impl<'a> Wait<'a> {
    /// A wait of `wait` on `target` (or the first candidate that answers),
    /// starting now.
    pub(super) fn new(
        checker: &'a Checker<'a>,
        target: &Target,
        candidates: &[Target],
        wait: Duration,
    ) -> Wait<'a> {
        let started = Instant::now();
        // `--wait` is bounded in config; saturate anyway rather than panic.
        let deadline = started
            .checked_add(wait)
            .unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
        let prefix = if checker.multi {
            format!("{target}: ")
        } else {
            String::new()
        };
        Wait {
            checker,
            target: target.clone(),
            candidates: candidates.to_vec(),
            wait,
            started,
            deadline,
            prefix,
            ever_reachable: false,
            last_reason: None,
            last: None,
        }
    }

    /// Polls until ready or the deadline (or until the watched process
    /// exits), then judges the last poll.
    pub(super) async fn run(mut self) -> Outcome {
        let (out, plan) = (self.checker.out, self.checker.plan);
        let said = Mutex::new(None);
        // The last poll may run a --timeout past the deadline.
        let slack = plan.common.client.timeout + PROGRESS_EVERY;
        let beside = Beside {
            out,
            watch: plan.process.clone().map(Watch::new),
            progress: !out.quiet && !spinner_shown(out),
            started: self.started,
            until: self.deadline.checked_add(slack).unwrap_or(self.deadline),
            of: self.wait,
            prefix: self.prefix.clone(),
        };
        let exited = tokio::select! {
            biased;
            () = self.poll_until_done(&said) => None,
            exited = beside.run(&said) => Some(exited),
        };
        self.finish(exited)
    }

    /// The polls, each narrated (and the reason left in `said`), under the
    /// retry driver's `--wait` policy.
    async fn poll_until_done(&mut self, said: &Mutex<Option<String>>) {
        let policy = Policy::health_wait(self.checker.plan.interval, self.deadline);
        let mut discovery = Discovery {
            http: self.checker.http.clone(),
            candidates: std::mem::take(&mut self.candidates),
        };
        let mut polls = Polls { wait: self, said };
        // The outcome is read from the last poll (`finish`).
        let _ = retry::drive(&mut polls, &policy, Some(&mut discovery)).await;
    }

    /// Says what is still missing: a "not yet" line on stderr each time the
    /// reason changes (plain output only), and always on the spinner.
    fn narrate(&mut self, reason: String) {
        let (out, prefix) = (self.checker.out, &self.prefix);
        if self.last_reason.as_deref() != Some(reason.as_str()) {
            if !out.live && !out.json {
                out.eprintln(&format!(
                    "comfyctl: not yet: {prefix}{}",
                    term_safe(&reason)
                ));
            }
            self.last_reason = Some(reason.clone());
        }
        if let Some(spinner) = self.checker.spinner {
            spinner.set(format!(
                "waited {} of {} · {prefix}{}",
                short_duration(self.started.elapsed()),
                short_duration(self.wait),
                term_safe(&reason)
            ));
        }
    }

    /// The outcome from the last poll (or a timeout if none finished); exit
    /// 1 with what `exited` says when the watched process is gone.
    fn finish(self, exited: Option<String>) -> Outcome {
        let plan = self.checker.plan;
        if let Some(message) = exited {
            let error = ProbeError::new(ErrorKind::ProcessExited, message);
            return Outcome {
                status: Status::failed(self.target.to_string(), error),
                results: Vec::new(),
                jobs: None,
                verdict: manager::Verdict::Unavailable,
                waited: Some(self.started.elapsed()),
            };
        }
        let (status, results, jobs) = self.last.unwrap_or_else(|| {
            let error =
                crate::manager::http::timeout_error(&self.target, "the whole --wait", self.wait);
            (
                Status::failed(self.target.to_string(), error),
                Vec::new(),
                None,
            )
        });
        let verdict = verdict(plan, &status, &results, self.ever_reachable);
        Outcome {
            status,
            results,
            jobs,
            verdict,
            waited: Some(self.started.elapsed()),
        }
    }
}

/// `--wait`'s polls as the retry driver's attempts.
struct Polls<'w, 'a> {
    wait: &'w mut Wait<'a>,
    /// The last reason, for the progress line beside the polls.
    said: &'w Mutex<Option<String>>,
}

impl Attempts for Polls<'_, '_> {
    type Done = ();
    /// Why the poll is not what we wait for.
    type Error = String;

    fn target(&self) -> Option<&Target> {
        Some(&self.wait.target)
    }

    /// One poll. Ask ahead of the probe only where it pays: first, and
    /// while the server was last seen up.
    async fn attempt(&mut self, n: u32) -> Result<(), Failure<String>> {
        let w = &mut *self.wait;
        let (http, plan) = (w.checker.http, w.checker.plan);
        let ahead = n == 1 || w.last.as_ref().is_some_and(|l| l.0.available);
        let polled = poll(http, &w.target, plan, !plan.expect_down, ahead).await;
        let refused = polled
            .0
            .error
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::ConnectionRefused);
        w.ever_reachable |= polled.0.available;
        let reason = missing(plan, &polled.0, &polled.1);
        w.last = Some(polled);
        let Some(reason) = reason else {
            return Ok(());
        };
        *self.said.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
        Err(Failure {
            error: reason,
            refused,
            up: false,
        })
    }

    async fn found(&mut self, found: Target) {
        let note = format!("found ComfyUI at {found} (no --url given)");
        self.wait.checker.out.note(&note);
        self.wait.target = found;
    }

    async fn retrying(&mut self, _n: u32, failure: &Failure<String>, _delay: Duration) {
        self.wait.narrate(failure.error.clone());
    }
}

/// Whether the `--wait` spinner is on a screen: output is live and stderr,
/// where it draws, is a terminal (or made to count as one for tests).
fn spinner_shown(out: &Output) -> bool {
    out.live && (out.forced_tty || console::Term::stderr().is_term())
}

/// What runs beside the polls and costs the server nothing: the look at
/// the watched process and, off a terminal, the progress line.
struct Beside<'a> {
    out: &'a Output,
    watch: Option<Watch>,
    /// Print a progress line every [`PROGRESS_EVERY`] (no spinner is shown).
    progress: bool,
    started: Instant,
    /// Never runs past this (the polls end well before).
    until: Instant,
    /// The whole `--wait`, as shown.
    of: Duration,
    prefix: String,
}

impl Beside<'_> {
    /// Returns what ended the process it watches, if it ever does; else
    /// runs until the polls end (the caller drops it then).
    async fn run(mut self, said: &Mutex<Option<String>>) -> String {
        let mut next_line = self.started + PROGRESS_EVERY;
        while self.progress || self.watch.is_some() {
            if let Some(gone) = self.watch.as_mut().and_then(Watch::gone) {
                return gone;
            }
            let now = Instant::now();
            if now >= self.until {
                break;
            }
            if self.progress && now >= next_line {
                let reason = said.lock().unwrap_or_else(|e| e.into_inner()).clone();
                self.progress_line(reason.as_deref());
                next_line += PROGRESS_EVERY;
            }
            let wake = match (&self.watch, self.progress) {
                (Some(_), true) => next_line.min(now + PID_LOOK),
                (Some(_), false) => now + PID_LOOK,
                (None, _) => next_line,
            };
            tokio::time::sleep_until(wake).await;
        }
        std::future::pending().await
    }

    /// `comfyctl: still waiting after 20s of 5m: connection refused …`.
    fn progress_line(&self, reason: Option<&str>) {
        let reason = reason.unwrap_or("no answer yet");
        self.out.eprintln(&format!(
            "comfyctl: still waiting after {} of {}: {}{}",
            short_duration(self.started.elapsed()),
            short_duration(self.of),
            self.prefix,
            term_safe(reason)
        ));
    }
}
