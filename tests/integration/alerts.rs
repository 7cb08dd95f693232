//! Alerts at the end of a watch: the state change that ends it reaches
//! `--on-change` and `--webhook` on every exit path, a failing webhook is
//! retried its 3 times before the exit, and a hook that overruns
//! `--hook-timeout` is killed with everything it started.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::external::TempDir;
use crate::support::http::StubServer;
use crate::support::port::RefusedPort;
use crate::support::{MockServer, Proc, poll_until};
use crate::util::{WATCH_WAIT, comfyctl_std, wait_state, watch_cmd};

/// A webhook receiver that fails every request.
const FAIL_500: &str =
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// A hook script that logs each state, and a webhook that answers 500.
struct Sinks {
    dir: TempDir,
    receiver: StubServer,
}

impl Sinks {
    fn new() -> Sinks {
        let dir = TempDir::new("alerts");
        let log = dir.join("states.log");
        let script = dir.write(
            "hook.sh",
            &format!(
                "#!/bin/sh\necho \"$COMFYCTL_STATE\" >> '{}'\n",
                log.display()
            ),
        );
        make_executable(&script);
        Sinks {
            dir,
            receiver: StubServer::start("127.0.0.1", FAIL_500.into()),
        }
    }

    /// `watch --json` on `url` with both sinks and `extra`.
    fn watch(&self, url: &str, extra: &[&str]) -> Proc {
        let mut cmd = comfyctl_std();
        cmd.args(["watch", "--json", "--interval", "250ms", "--url", url])
            .args(["--hook-timeout", "1s", "--on-change"])
            .arg(self.dir.join("hook.sh"))
            .arg("--webhook")
            .arg(format!("{}/hook/secret", self.receiver.url()))
            .args(extra);
        Proc::spawn(cmd)
    }

    /// The states the hook logged.
    fn hooked(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("states.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// How many POSTs carried `state`.
    fn posted(&self, state: &str) -> usize {
        self.receiver
            .json_bodies()
            .iter()
            .filter(|b| b["state"] == state)
            .count()
    }

    /// Checks, right at the exit (no waiting: whatever was not delivered
    /// before it never will be), that the hook ran for `last` as its last
    /// state and the webhook was tried 3 times for it, with the give-up
    /// line for every alert.
    fn assert_delivered(&self, watch: &mut Proc, code: i32, last: &str) {
        let exit = watch.wait_exit(WATCH_WAIT).expect("watch exits");
        assert_eq!(exit.code(), Some(code), "stderr: {}", watch.stderr());
        let hooked = self.hooked();
        assert_eq!(
            hooked.last().map(String::as_str),
            Some(last),
            "hook saw {hooked:?}"
        );
        assert_eq!(self.posted(last), 3, "{:?}", self.receiver.json_bodies());
        let gave_up = watch
            .stderr()
            .matches("gave up after 3 attempts: HTTP 500")
            .count();
        assert_eq!(gave_up, hooked.len(), "stderr: {}", watch.stderr());
        assert!(!watch.stderr().contains("secret"), "{}", watch.stderr());
    }
}

fn make_executable(path: &PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn until_connected_delivers_connected_before_exiting() {
    let mock = MockServer::start(&[]);
    let sinks = Sinks::new();
    let mut watch = sinks.watch(&mock.url(), &["--until", "connected"]);
    sinks.assert_delivered(&mut watch, 0, "connected");
}

/// Watches with `extra` until connected, kills the server: the watch
/// exits with `code` after delivering `disconnected`.
fn outage_is_delivered(extra: &[&str], code: i32) {
    let mut mock = MockServer::start(&[]);
    let sinks = Sinks::new();
    let mut watch = sinks.watch(&mock.url(), extra);
    wait_state(&mut watch, "connected");
    mock.kill();
    sinks.assert_delivered(&mut watch, code, "disconnected");
}

#[test]
fn until_disconnected_delivers_disconnected_before_exiting() {
    outage_is_delivered(&["--until", "disconnected"], 0);
}

#[test]
fn fallback_abort_delivers_the_down_state_before_exiting() {
    outage_is_delivered(&["--fallback", "abort"], 1);
}

#[test]
fn giving_up_delivers_failed_before_exiting() {
    let refused = RefusedPort::new();
    let sinks = Sinks::new();
    let mut watch = sinks.watch(&refused.url(), &["--max-attempts", "1"]);
    sinks.assert_delivered(&mut watch, 1, "failed");
}

#[test]
fn count_delivers_every_alert_with_its_retries_before_exiting() {
    let mock = MockServer::start(&[]);
    let sinks = Sinks::new();
    let mut watch = sinks.watch(&mock.url(), &["--count", "2"]);
    sinks.assert_delivered(&mut watch, 0, "connected");
    assert_eq!(sinks.posted("connecting"), 3);
}

#[test]
fn sigterm_and_ctrl_c_right_after_connected_deliver_it_first() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mock = MockServer::start(&[]);
        let sinks = Sinks::new();
        let mut watch = sinks.watch(&mock.url(), &[]);
        wait_state(&mut watch, "connected");
        watch.signal(signal);
        sinks.assert_delivered(&mut watch, 0, "connected");
    }
}

#[test]
fn damping_held_state_that_ends_the_watch_is_announced() {
    // --fail-after 3: the outage is not yet confirmed when --until
    // disconnected ends the watch on it; it is announced all the same.
    outage_is_delivered(&["--until", "disconnected", "--fail-after", "3"], 0);
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

#[test]
fn a_hook_that_overruns_is_killed_with_its_children() {
    let mock = MockServer::start(&[]);
    let dir = TempDir::new("hookgroup");
    let pids = dir.join("pids");
    let script = dir.write(
        "hook.sh",
        &format!(
            "#!/bin/sh\nsleep 61 &\necho $! >> '{}'\nwait\n",
            pids.display()
        ),
    );
    make_executable(&script);
    let mut cmd = watch_cmd(
        "250ms",
        &["--url", &mock.url(), "--hook-timeout", "1s", "--on-change"],
    );
    cmd.arg(&script);
    let mut watch = Proc::spawn(cmd);
    wait_state(&mut watch, "connected");
    assert!(
        poll_until(WATCH_WAIT, || watch
            .stderr()
            .contains("took longer than 1s")),
        "{}",
        watch.stderr()
    );
    let children: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(!children.is_empty(), "the hook started no child");
    // The first hook run timed out: its `sleep 61` must be gone (the kill
    // is sent at the timeout; give the kernel a moment to deliver it).
    let first = children[0];
    assert!(
        poll_until(Duration::from_secs(5), || !alive(first)),
        "sleep {first} survived the hook's timeout"
    );
    watch.signal(libc::SIGINT);
    assert_eq!(watch.wait_exit(WATCH_WAIT).and_then(|s| s.code()), Some(0));
    // At exit the hook still running (for `connected`) is killed with its
    // group too.
    let children: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for pid in children {
        assert!(
            poll_until(Duration::from_secs(5), || !alive(pid)),
            "sleep {pid} survived comfyctl"
        );
    }
}

#[test]
fn on_change_with_arguments_says_hooks_take_none() {
    for program in ["echo hello", "./page-me --loud", "notify|tee"] {
        let out = crate::util::comfyctl()
            .args(["watch", "--url", "127.0.0.1:1", "--on-change", program])
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{program}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // One problem line under the usual "invalid configuration:" head.
        let problems: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  - ")).collect();
        assert_eq!(problems.len(), 1, "{stderr}");
        assert!(
            problems[0].contains("--on-change")
                && problems[0].contains("no arguments or shell words"),
            "{stderr}"
        );
    }
}

#[test]
fn a_full_stdout_still_delivers_the_alerts_before_the_exit() {
    let mock = MockServer::start(&[]);
    let sinks = Sinks::new();
    let mut cmd = watch_cmd(
        "250ms",
        &["--url", &mock.url(), "--hook-timeout", "1s", "--on-change"],
    );
    cmd.arg(sinks.dir.join("hook.sh"))
        .stdout(std::fs::File::create("/dev/full").unwrap());
    let mut watch = crate::support::Spawn::new(cmd).preset_stdio().start();
    let code = watch.wait_code(WATCH_WAIT);
    assert_eq!(code, Some(4), "a write error is exit 4");
    assert_eq!(
        sinks.hooked().first().map(String::as_str),
        Some("connecting")
    );
}
