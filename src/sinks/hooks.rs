//! The workers that deliver alerts: `--on-change` runs and `--webhook`
//! POSTs. Each sink has one task that takes its alerts in order, so a slow
//! or failing sink never stalls monitoring; at exit, [`Workers::drain`]
//! waits for what is still queued, within each alert's time budget, so the
//! state change that ends a watch is delivered too.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::alert::{Alert, webhook_origin};
use super::{Notes, Say};
use crate::manager::State;
use crate::manager::retry::{self, Attempts, Failure, Policy};

/// Attempts per alert for a webhook.
const WEBHOOK_ATTEMPTS: u32 = 3;

/// Alerts one sink can have queued; past that the newest are dropped.
const QUEUE: usize = 1024;

/// The running alert sinks.
#[derive(Default)]
pub struct Workers {
    sinks: Vec<Worker>,
}

struct Worker {
    /// How messages name the sink, e.g. `--webhook http://h:80`.
    name: String,
    tx: mpsc::Sender<Alert>,
    task: JoinHandle<()>,
    /// The longest one alert can take, every attempt and pause included.
    budget: Duration,
}

impl Workers {
    /// Starts a worker that runs `program` once per alert, without a shell,
    /// with the alert in `COMFYCTL_*` variables, each run bounded by
    /// `timeout` (then its whole process group is killed).
    pub fn add_program(&mut self, program: PathBuf, timeout: Duration, out: Say) {
        let name = format!("--on-change {}", program.display());
        let (tx, mut rx) = mpsc::channel::<Alert>(QUEUE);
        let shown = name.clone();
        let task = tokio::spawn(async move {
            while let Some(alert) = rx.recv().await {
                if let Err(e) = run_program(&program, &alert, timeout, (&shown, &out)).await {
                    out.note(&format!("{shown}{e}"));
                }
            }
        });
        // Killing and reaping a hook that overran takes a moment more.
        let budget = timeout + Duration::from_secs(1);
        self.sinks.push(Worker {
            name,
            tx,
            task,
            budget,
        });
    }

    /// Starts a worker that POSTs each alert as JSON to `url`, with up to
    /// 3 attempts, each bounded by `timeout`, 1 s and 2 s apart.
    pub fn add_webhook(&mut self, url: url::Url, timeout: Duration, out: Say) {
        let name = format!("--webhook {}", webhook_origin(&url));
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static client settings");
        let (tx, mut rx) = mpsc::channel::<Alert>(QUEUE);
        let shown = name.clone();
        let task = tokio::spawn(async move {
            while let Some(alert) = rx.recv().await {
                if let Err(e) = post(&client, &url, &alert).await {
                    out.note(&format!(
                        "{shown}: gave up after {WEBHOOK_ATTEMPTS} attempts: {e}"
                    ));
                }
            }
        });
        let budget = timeout * WEBHOOK_ATTEMPTS + pauses();
        self.sinks.push(Worker {
            name,
            tx,
            task,
            budget,
        });
    }

    /// Queues `alert` on every sink. A full queue means the sink is far
    /// behind: the alert is dropped there rather than stall monitoring.
    pub fn send(&self, alert: &Alert) {
        for sink in &self.sinks {
            let _ = sink.tx.try_send(alert.clone());
        }
    }

    /// Delivers what is queued, then stops the workers: each may take its
    /// per-alert budget for the alert in progress and each one queued
    /// behind it. A sink still busy after that is stopped (a hook's process
    /// group killed) with a note.
    pub async fn drain(self, out: &dyn Notes) {
        let waits = self.sinks.into_iter().map(|w| async move {
            let queued = w.tx.max_capacity() - w.tx.capacity();
            drop(w.tx);
            let limit = w.budget * (queued as u32 + 1);
            let mut task = w.task;
            if tokio::time::timeout(limit, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
                out.note(&format!(
                    "{}: alerts still undelivered after {} at exit; stopped",
                    w.name,
                    humantime::format_duration(limit)
                ));
            }
        });
        futures_util::future::join_all(waits).await;
    }
}

/// The pauses between webhook attempts: 1 s, then 2 s.
fn pauses() -> Duration {
    Policy::webhook(WEBHOOK_ATTEMPTS).pauses(WEBHOOK_ATTEMPTS)
}

/// One webhook alert, with its retries; the last error if all failed.
async fn post(client: &reqwest::Client, url: &url::Url, alert: &Alert) -> Result<(), String> {
    let mut posting = Post {
        client,
        url,
        body: alert.line(),
    };
    let policy = Policy::webhook(WEBHOOK_ATTEMPTS);
    retry::drive(&mut posting, &policy, None)
        .await
        .map_err(|gave_up| gave_up.last.unwrap_or_default())
}

/// One alert's POSTs as the retry driver's attempts.
struct Post<'a, B> {
    client: &'a reqwest::Client,
    url: &'a url::Url,
    body: B,
}

impl<B: serde::Serialize> Attempts for Post<'_, B> {
    type Done = ();
    type Error = String;

    async fn attempt(&mut self, _n: u32) -> Result<(), Failure<String>> {
        let sent = self.client.post(self.url.clone()).json(&self.body).send();
        Err(Failure::other(match sent.await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) => e.without_url().to_string(),
        }))
    }
}

/// One hook run; the error is the rest of the note after the hook's name.
/// While the dashboard owns the terminal, what the hook writes to stderr is
/// relayed as notes (`said`: the hook's name and where notes go), which the
/// dashboard shows in its footer, instead of landing on its screen.
async fn run_program(
    program: &Path,
    alert: &Alert,
    timeout: Duration,
    said: (&str, &Say),
) -> Result<(), String> {
    let relay = said.1.screen_held();
    let mut cmd = tokio::process::Command::new(program);
    cmd.env("COMFYCTL_URL", &alert.url)
        .env("COMFYCTL_STATE", alert.state.as_str())
        .env(
            "COMFYCTL_PREVIOUS",
            alert.previous.map_or("", State::as_str),
        )
        .env("COMFYCTL_REASON", &alert.reason)
        .env("COMFYCTL_TS", &alert.ts)
        // The bearer token is comfyctl's, not the hook's to see.
        .env_remove("COMFYCTL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if relay {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .kill_on_drop(true);
    // Its own process group, so a timeout also ends what it started.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!(": cannot run: {e}"))?;
    if let Some(pipe) = child.stderr.take() {
        tokio::spawn(relay_stderr(pipe, format!("{}:", said.0), said.1.clone()));
    }
    let group = Group::of(child.id());
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(result) => {
            // Children a hook leaves running after it exits are its own
            // (e.g. a notifier it sent to the background).
            group.disarm();
            match result {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(format!(" exited with {status}")),
                Err(e) => Err(format!(": {e}")),
            }
        }
        Err(_) => {
            drop(group);
            let _ = child.kill().await;
            Err(format!(
                " took longer than {}; killed it and its process group",
                humantime::format_duration(timeout)
            ))
        }
    }
}

/// Lines a hook may have relayed per run, and bytes kept of each.
const RELAYED_LINES: usize = 20;
const RELAYED_LINE_BYTES: usize = 400;

/// Relays what a hook writes to stderr as terminal-safe notes, `name`
/// first: at most [`RELAYED_LINES`] lines of [`RELAYED_LINE_BYTES`] each;
/// the rest is read and dropped, so the hook never blocks on a full pipe.
/// Ends when every writer has closed the pipe (the hook's group is killed
/// on timeout).
async fn relay_stderr(mut pipe: tokio::process::ChildStderr, name: String, out: Say) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let mut line = Vec::new();
    let mut lines = 0;
    let mut say = |line: &mut Vec<u8>| {
        if lines < RELAYED_LINES && !line.is_empty() {
            let text = String::from_utf8_lossy(line);
            let text = crate::safe::term_safe(text.trim_end_matches('\r'));
            out.note(&format!("{name} {text}"));
            lines += 1;
        }
        line.clear();
    };
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            match b {
                b'\n' => say(&mut line),
                _ if line.len() < RELAYED_LINE_BYTES => line.push(b),
                _ => {}
            }
        }
    }
    say(&mut line);
}

/// A hook's process group, killed when dropped (on timeout, or when a
/// worker is stopped at exit with the hook still running) unless disarmed.
struct Group(Option<i32>);

impl Group {
    fn of(pid: Option<u32>) -> Group {
        Group(pid.and_then(|p| i32::try_from(p).ok()))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The group is the hook's own (process_group(0) made its pid the
        // group id).
        #[cfg(unix)]
        if let Some(pgid) = self.0.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}
