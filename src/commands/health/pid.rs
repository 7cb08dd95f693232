//! `--pid` / `--pid-file`: a gate waiting for a server that is starting
//! gives up as soon as the process that would serve it is gone, instead of
//! waiting out a deadline of minutes. Looking costs the server nothing: it
//! is a question to the kernel, not to ComfyUI.

use crate::config::{Process, parse_pid};

/// What one look at a PID found.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
enum Seen {
    /// Running, with its start time where the system tells it (so that a
    /// PID reused by another process is not taken for ours).
    Alive(Option<u64>),
    /// Gone, with how it ended where that can be known.
    Exited(Option<String>),
}

/// The process a wait watches, as far as it is known yet.
#[derive(Debug)]
pub(super) struct Watch {
    source: Process,
    pid: Option<u32>,
    /// The start time first seen for `pid`.
    started: Option<u64>,
}

impl Watch {
    /// Watches what `--pid` or `--pid-file` named.
    pub(super) fn new(source: Process) -> Watch {
        let pid = match source {
            Process::Pid(pid) => Some(pid),
            Process::File(_) => None,
        };
        Watch {
            source,
            pid,
            started: None,
        }
    }

    /// `Some("the ComfyUI process PID exited …")` once the process is
    /// gone; `None` while it runs, or while the PID file is not there yet.
    /// A PID file is read at every look and a new PID in it is followed; a
    /// file that vanishes or holds no PID (half written) keeps the last PID.
    pub(super) fn gone(&mut self) -> Option<String> {
        if let Process::File(path) = &self.source {
            let read = std::fs::read_to_string(path).ok();
            let now = read.and_then(|text| parse_pid(&text).ok());
            if now.is_some() && now != self.pid {
                (self.pid, self.started) = (now, None);
            }
        }
        let pid = self.pid?;
        let ended = match look(pid) {
            Seen::Exited(status) => status,
            Seen::Alive(started) => match (self.started, started) {
                (Some(before), Some(now)) if before != now => None,
                (None, now) => {
                    self.started = now;
                    return None;
                }
                _ => return None,
            },
        };
        let how = ended.map(|s| format!(" ({s})")).unwrap_or_default();
        Some(format!("the ComfyUI process {pid} exited{how}"))
    }
}

/// The one OS-specific look. kill(2) with signal 0 asks whether the PID
/// exists (EPERM: it does, as another user's). On Linux a zombie (exited,
/// not yet reaped by its parent) has exited too, and its stat holds the
/// exit status; a process that was reaped leaves no status to read.
#[cfg(unix)]
fn look(pid: u32) -> Seen {
    let Some(raw) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Seen::Exited(None);
    };
    let alive = match rustix::process::test_kill_process(raw) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    };
    if !alive {
        return Seen::Exited(None);
    }
    let dir = format!("/proc/{pid}");
    let Ok(stat) = std::fs::read_to_string(format!("{dir}/stat")) else {
        return Seen::Alive(None);
    };
    // The kernel shows the exit code only to those who may trace the
    // process (else 0, which would read as a clean exit).
    use std::os::unix::fs::MetadataExt;
    let euid = rustix::process::geteuid().as_raw();
    let traceable = euid == 0 || std::fs::metadata(&dir).is_ok_and(|m| m.uid() == euid);
    from_stat(&stat, traceable)
}

/// Elsewhere the PID cannot be watched yet (config refuses `--pid`).
#[cfg(not(unix))]
fn look(_pid: u32) -> Seen {
    Seen::Alive(None)
}

/// Reads `/proc/PID/stat`: the state (field 3), the start time (22) and
/// the exit code (52, a wait(2) status). The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself.
#[cfg(unix)]
fn from_stat(stat: &str, traceable: bool) -> Seen {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Seen::Alive(None);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<i64>().ok());
    match fields.first() {
        Some(&"Z") | Some(&"X") => {
            let status = field(52).filter(|_| traceable).map(wait_status);
            Seen::Exited(status)
        }
        _ => Seen::Alive(field(22).map(|t| t as u64)),
    }
}

/// A wait(2) status in words: `exit status 1`, `killed by signal 9 (SIGKILL)`.
#[cfg(unix)]
fn wait_status(raw: i64) -> String {
    let signal = raw & 0x7f;
    if signal == 0 {
        return format!("exit status {}", (raw >> 8) & 0xff);
    }
    let name = match signal {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    };
    format!("killed by signal {signal}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZOMBIE: &str = "4242 (python3 (main) x) Z 1 4242 4242 0 -1 4228 0 0 0 0 0 0 0 0 20 0 1 0 \
        8815 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 256";

    #[cfg(unix)]
    #[test]
    fn a_zombie_has_exited_with_the_status_its_stat_holds() {
        let seen = from_stat(ZOMBIE, true);
        assert_eq!(seen, Seen::Exited(Some("exit status 1".into())));
        assert_eq!(from_stat(ZOMBIE, false), Seen::Exited(None));
        let running = ZOMBIE.replacen(") Z ", ") S ", 1);
        assert_eq!(from_stat(&running, true), Seen::Alive(Some(8815)));
        assert_eq!(wait_status(9), "killed by signal 9 (SIGKILL)");
        assert_eq!(wait_status(0), "exit status 0");
    }

    #[cfg(unix)]
    #[test]
    fn our_own_process_is_alive_and_a_pid_file_not_there_yet_is_waited_for() {
        assert!(matches!(look(std::process::id()), Seen::Alive(_)));
        let mut watch = Watch::new(Process::File("/nonexistent/comfyui.pid".into()));
        assert_eq!(watch.gone(), None);
    }
}
