//! `health --wait`: poll one server until what was asked for holds or the
//! deadline runs out, narrating what is still missing.

use std::sync::Mutex;

use tokio::time::Instant;

use super::pid::Watch;
use super::*;

/// Poll period while connections are refused (when `--interval` is longer).
const UNREACHABLE_POLL: Duration = Duration::from_millis(250);

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

    /// The polls, each narrated (and the reason left in `said`).
    async fn poll_until_done(&mut self, said: &Mutex<Option<String>>) {
        let (http, plan) = (self.checker.http, self.checker.plan);
        let with_jobs = !plan.expect_down;
        let mut first = true;
        loop {
            let Some(candidates_refused) = self.discover().await else {
                break;
            };
            // The deadline covers the whole command, polls included, except
            // that the first check always runs to completion (each request
            // bounded by --timeout): `--wait 1ms` on a healthy server is 0.
            // Ask ahead of the probe only where it pays: first, and while
            // the server was last seen up.
            let ahead = first || self.last.as_ref().is_some_and(|l| l.0.available);
            let polling = poll(http, &self.target, plan, with_jobs, ahead);
            let polled = if std::mem::take(&mut first) {
                Ok(polling.await)
            } else {
                tokio::time::timeout_at(self.deadline, polling).await
            };
            let Ok(polled) = polled else { break };
            let refused = candidates_refused
                && polled
                    .0
                    .error
                    .as_ref()
                    .is_some_and(|e| e.kind == ErrorKind::ConnectionRefused);
            self.ever_reachable |= polled.0.available;
            let reason = missing(plan, &polled.0, &polled.1);
            self.last = Some(polled);
            let Some(reason) = reason else { break };
            *said.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
            self.narrate(reason);
            if !self.pause(refused).await {
                break;
            }
        }
    }

    /// Looks on the candidates, if any are left: `None` when the deadline
    /// passed while looking, else whether every candidate refused (true
    /// when there were none to look on).
    async fn discover(&mut self) -> Option<bool> {
        if self.candidates.is_empty() {
            return Some(true);
        }
        let round = manager::discover_round(self.checker.http, &self.candidates);
        match tokio::time::timeout_at(self.deadline, round).await.ok()? {
            Ok(found) => {
                let note = format!("found ComfyUI at {found} (no --url given)");
                self.checker.out.note(&note);
                self.target = found;
                self.candidates.clear();
                Some(true)
            }
            Err(refused) => Some(refused),
        }
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

    /// Waits before the next poll; false once the deadline has come. A
    /// refused connection costs the server nothing, so a closed port is
    /// polled faster: the gate opens soon after the port does. A peer that
    /// answers (even with a 502 or a 401) or stays silent is polled at
    /// --interval: checks may fetch MiBs, and a proxy must not be loaded for
    /// the whole wait.
    async fn pause(&self, refused: bool) -> bool {
        let interval = self.checker.plan.interval;
        let pause = if refused {
            interval.min(UNREACHABLE_POLL)
        } else {
            interval
        };
        if refused && self.candidates.is_empty() {
            // Watch the port between polls: a refused connect is free, and
            // the gate opens soon after the port does.
            let left = self.deadline.saturating_duration_since(Instant::now());
            manager::port::wait_until_not_refused(&self.target, pause.min(left)).await;
            return Instant::now() < self.deadline;
        }
        if Instant::now() + pause >= self.deadline {
            tokio::time::sleep_until(self.deadline).await;
            return false;
        }
        tokio::time::sleep(pause).await;
        true
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
                exit: Exit::Unavailable,
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
        let exit = verdict(plan, &status, &results, self.ever_reachable);
        Outcome {
            status,
            results,
            jobs,
            exit,
            waited: Some(self.started.elapsed()),
        }
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
