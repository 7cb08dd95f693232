//! Busy is not dead: some custom nodes block ComfyUI's event loop while
//! they compute, so HTTP and WebSocket go silent while the job finishes.
//! A server that goes silent while a job runs is told apart from one that
//! hung idle, and `--busy-grace` keeps it up until it answers again.

use super::session::SessionEnd;
use super::*;
use crate::manager::Setting;

/// What the session last saw about a running job, for telling a server
/// that blocks its event loop while it computes from one that hung.
#[derive(Debug)]
pub(super) struct Busy {
    /// The prompt running at the last observation (a poll or a WebSocket
    /// progress message).
    pub(super) running: Option<String>,
    /// The last WebSocket frame or good poll.
    last_answer: Instant,
    /// The grace warning was shown for the current silence.
    warned: bool,
    /// When the WebSocket last changed `running`: a poll sent before that
    /// is older news and may not clear it.
    ws_changed: Instant,
    /// When the pending HTTP poll was sent.
    poll_sent: Instant,
}

impl Default for Busy {
    fn default() -> Busy {
        Busy {
            running: None,
            last_answer: Instant::now(),
            warned: false,
            ws_changed: Instant::now(),
            poll_sent: Instant::now(),
        }
    }
}

/// What `busy` makes of a judgement that would end the session as hung.
pub(super) enum BusyVerdict {
    /// Not busy (idle, or not hung): the judgement stands.
    Stands(SessionEnd),
    /// Silent while a job runs, past any grace: hung, said so.
    Hung(String),
    /// Within `--busy-grace`: keep waiting, warning once.
    Wait(Option<String>),
}

impl Busy {
    /// The server answered: `Some` warning when it ends a graced silence.
    pub(super) fn answered(&mut self) -> Option<String> {
        let silent = self.last_answer.elapsed();
        self.last_answer = Instant::now();
        std::mem::take(&mut self.warned).then(|| {
            format!(
                "answers again after {} unresponsive while running {}",
                secs(silent),
                self.short_id()
            )
        })
    }

    /// An HTTP poll goes out now.
    pub(super) fn poll_sent(&mut self) {
        self.poll_sent = Instant::now();
    }

    /// A good poll's `queue_running`: it names the running job, or, unless
    /// the WebSocket told of a start after the poll went out, that none runs.
    pub(super) fn polled(&mut self, running: Option<String>) {
        if running.is_some() || self.ws_changed < self.poll_sent {
            self.running = running;
        }
    }

    /// Follows the running prompt on the WebSocket: a prompt sent without
    /// a client id shows only in broadcast `progress_state` and `status`.
    pub(super) fn observe(&mut self, event: &Event) {
        match event {
            Event::Queue { queue_remaining: 0 } => {
                self.running = None;
                self.ws_changed = Instant::now();
            }
            Event::Progress {
                kind,
                prompt_id,
                node,
                ..
            } => {
                let done = match kind {
                    // `executing` with no node is ComfyUI's "prompt done".
                    ProgressKind::Executing => node.is_none(),
                    ProgressKind::ExecutionSuccess
                    | ProgressKind::ExecutionError
                    | ProgressKind::ExecutionInterrupted => true,
                    _ => false,
                };
                if done {
                    self.running = None;
                } else if prompt_id.is_some() {
                    self.running.clone_from(prompt_id);
                }
                if done || prompt_id.is_some() {
                    self.ws_changed = Instant::now();
                }
            }
            _ => {}
        }
    }

    /// The job id as shown: a few safe characters of an untrusted string.
    fn short_id(&self) -> String {
        let id = self.running.as_deref().unwrap_or_default();
        let short: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(8)
            .collect();
        if short.is_empty() {
            "a job".into()
        } else {
            short
        }
    }

    /// Rewrites a hung judgement when a job was running: within `grace`
    /// the session goes on; after it, the reason says which job ran.
    pub(super) fn judge(&mut self, end: SessionEnd, grace: Option<Duration>) -> BusyVerdict {
        let SessionEnd::Hung(why) = end else {
            return BusyVerdict::Stands(end);
        };
        if self.running.is_none() {
            return BusyVerdict::Stands(SessionEnd::Hung(why));
        }
        let silent = self.last_answer.elapsed();
        let busy = format!(
            "unresponsive while running {} for {}",
            self.short_id(),
            secs(silent)
        );
        match grace {
            Some(grace) if silent < grace => {
                let first = !std::mem::replace(&mut self.warned, true);
                BusyVerdict::Wait(first.then(|| {
                    format!(
                        "{busy}; still counted up for {} {}",
                        Setting::BusyGrace,
                        humantime::format_duration(grace)
                    )
                }))
            }
            Some(grace) => BusyVerdict::Hung(format!(
                "{busy}, past {} {} ({why})",
                Setting::BusyGrace,
                humantime::format_duration(grace)
            )),
            None => BusyVerdict::Hung(format!("{busy} ({why})")),
        }
    }
}

/// `3.1s`: tenths of a second, for how long a server has been silent.
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hung() -> SessionEnd {
        SessionEnd::Hung("no pong within 1s and HTTP failed: timed out".into())
    }

    fn running(id: &str) -> Busy {
        Busy {
            running: Some(id.into()),
            ..Busy::default()
        }
    }

    #[test]
    fn silence_while_idle_stays_the_old_hung_judgement() {
        let mut busy = Busy::default();
        match busy.judge(hung(), Some(Duration::from_secs(10))) {
            BusyVerdict::Stands(SessionEnd::Hung(why)) => assert!(why.starts_with("no pong")),
            _ => panic!("idle silence is hung"),
        }
    }

    #[test]
    fn silence_while_running_names_a_short_safe_job_id() {
        let mut busy = running("\u{1b}[2Jcd810538-f96c-4eb6");
        match busy.judge(hung(), None) {
            BusyVerdict::Hung(why) => {
                assert!(
                    why.starts_with("unresponsive while running 2Jcd8105 for "),
                    "{why}"
                );
                assert!(why.ends_with("(no pong within 1s and HTTP failed: timed out)"));
            }
            _ => panic!("without a grace it is hung"),
        }
    }

    #[test]
    fn within_the_grace_it_warns_once_then_says_when_it_answers() {
        let mut busy = running("cd810538-f96c");
        let grace = Some(Duration::from_secs(10));
        assert!(matches!(
            busy.judge(hung(), grace),
            BusyVerdict::Wait(Some(_))
        ));
        assert!(matches!(busy.judge(hung(), grace), BusyVerdict::Wait(None)));
        let back = busy.answered().expect("a graced silence ends with a note");
        assert!(back.starts_with("answers again after "), "{back}");
        assert_eq!(busy.answered(), None);
    }

    #[test]
    fn past_the_grace_it_is_hung() {
        crate::config::name_flags();
        let mut busy = running("cd810538");
        busy.last_answer = Instant::now() - Duration::from_secs(2);
        match busy.judge(hung(), Some(Duration::from_secs(1))) {
            BusyVerdict::Hung(why) => assert!(why.contains("past --busy-grace 1s"), "{why}"),
            _ => panic!("past the grace it is hung"),
        }
    }

    #[test]
    fn a_poll_sent_before_the_websocket_told_of_a_start_does_not_clear_it() {
        let mut busy = Busy::default();
        busy.poll_sent();
        busy.observe(&Event::Progress {
            kind: ProgressKind::ProgressState,
            prompt_id: Some("p1".into()),
            node: Some("1".into()),
            value: None,
            max: None,
        });
        busy.polled(None);
        assert_eq!(busy.running.as_deref(), Some("p1"), "stale idle poll");
        busy.poll_sent();
        busy.polled(None);
        assert_eq!(busy.running, None, "a newer poll says idle");
    }

    #[test]
    fn the_websocket_tells_when_a_prompt_runs_and_ends() {
        let mut busy = Busy::default();
        let progress = |kind, node: Option<&str>| Event::Progress {
            kind,
            prompt_id: Some("p1".into()),
            node: node.map(String::from),
            value: None,
            max: None,
        };
        busy.observe(&progress(ProgressKind::ProgressState, Some("1")));
        assert_eq!(busy.running.as_deref(), Some("p1"));
        busy.observe(&progress(ProgressKind::Executing, None));
        assert_eq!(busy.running, None);
        busy.observe(&progress(ProgressKind::Executing, Some("2")));
        busy.observe(&Event::Queue { queue_remaining: 0 });
        assert_eq!(busy.running, None);
    }
}
