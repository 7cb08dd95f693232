//! Usage errors, the exit-code table, and the committed completions.

use predicates::prelude::*;

use crate::util::comfyctl;

#[test]
fn invalid_url_and_duration_exit_2_naming_every_flag() {
    comfyctl()
        .args(["health", "--url", "ftp://x:1", "--timeout", "5 parsecs"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("--url")
                .and(predicate::str::contains("unsupported scheme"))
                .and(predicate::str::contains("--timeout"))
                .and(predicate::str::contains("5 parsecs")),
        );
}

#[test]
fn bad_inputs_each_exit_2_with_the_flag_named() {
    for (args, needle) in [
        (&["health", "--url", "http://127.0.0.1:70000"][..], "--url"),
        (&["health", "--url", "http://127.0.0.1:0"][..], "--url"),
        (&["health", "--url", "http://:8188"][..], "--url"),
        (
            &["connect", "--url", "127.0.0.1:1", "--backoff", "-1"][..],
            "--backoff",
        ),
        (
            &["health", "--url", "127.0.0.1:1", "-H", "no colon"][..],
            "--header",
        ),
        (
            &["health", "--url", "127.0.0.1:1", "--timeout", "0s"][..],
            "--timeout",
        ),
        (
            &["watch", "--url", "127.0.0.1:1", "--interval", "soon"][..],
            "--interval",
        ),
    ] {
        comfyctl()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
    }
}

#[test]
fn help_has_the_exit_code_table() {
    comfyctl().arg("--help").assert().code(0).stdout(
        predicate::str::contains("Exit codes:")
            .and(predicate::str::contains("130  interrupted"))
            .and(predicate::str::contains("3    reachable but not ready")),
    );
}

#[test]
fn committed_completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "comfyctl.bash"),
        ("zsh", "_comfyctl"),
        ("fish", "comfyctl.fish"),
        ("powershell", "_comfyctl.ps1"),
        ("elvish", "comfyctl.elv"),
    ] {
        let generated = comfyctl()
            .args(["completions", shell])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            generated == committed,
            "completions/{file} is stale; regenerate with completions/regenerate.sh (comfyctl completions {shell})"
        );
    }
}

#[test]
fn help_and_version_into_a_full_disk_exit_4_like_every_command() {
    use crate::support::Spawn;
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    for args in [
        &["--help"][..],
        &["-h"],
        &["--version"],
        &["watch", "--help"],
        &["health", "-V"],
    ] {
        let mut cmd = crate::util::comfyctl_std();
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(full.try_clone().unwrap())
            .stderr(std::process::Stdio::null());
        let status = Spawn::new(cmd)
            .preset_stdio()
            .start()
            .run(crate::util::RUN_LIMIT)
            .status;
        assert_eq!(status.and_then(|s| s.code()), Some(4), "{args:?}");
    }
    // Written fine, they still exit 0; a usage error still exits 2.
    comfyctl().arg("--version").assert().code(0);
    comfyctl().arg("--no-such-flag").assert().code(2);
}

#[test]
fn watch_help_keeps_its_own_options_apart_from_the_global_ones() {
    let out = comfyctl().args(["watch", "--help"]).assert().code(0);
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let global = help
        .find("Global options:")
        .unwrap_or_else(|| panic!("no global heading: {help}"));
    let (own, globals) = help.split_at(global);
    for flag in [
        "--interval",
        "--count",
        "--metrics",
        "--backoff",
        "--webhook",
    ] {
        assert!(
            own.contains(flag) && !globals.contains(flag),
            "{flag}: {help}"
        );
    }
    for flag in ["--url", "--timeout", "--insecure", "--cacert", "--json"] {
        assert!(
            globals.contains(flag) && !own.contains(&format!("  {flag} ")),
            "{flag}: {help}"
        );
    }
}

#[test]
fn insecure_warns_only_when_a_url_is_https() {
    let hold = crate::support::RefusedPort::new();
    let warned = |urls: &[String]| {
        let mut run = comfyctl();
        run.args(["health", "--insecure", "--timeout", "1s"]);
        for url in urls {
            run.args(["--url", url]);
        }
        let out = run.output().unwrap();
        String::from_utf8_lossy(&out.stderr).contains("NOT verified")
    };
    let plain = format!("http://{}", hold.addr());
    let tls = format!("https://{}", hold.addr());
    assert!(
        !warned(std::slice::from_ref(&plain)),
        "no certificate to skip"
    );
    assert!(warned(std::slice::from_ref(&tls)));
    assert!(warned(&[plain, tls]));
}

#[test]
fn an_ignored_comfyui_url_is_noted() {
    let hold = crate::support::RefusedPort::new();
    let dir = std::env::temp_dir().join(format!("comfyctl-note-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let targets = dir.join("targets");
    std::fs::write(&targets, format!("{}\n", hold.addr())).unwrap();
    for (args, flag) in [
        (vec!["--url".to_string(), hold.addr()], "--url"),
        (
            vec!["--targets".into(), targets.display().to_string()],
            "--targets",
        ),
    ] {
        let out = comfyctl()
            .env("COMFYUI_URL", "https://alice:hunter2@elsewhere.invalid")
            .args(["health", "--timeout", "1s"])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = format!("note: COMFYUI_URL is ignored because {flag} is given");
        assert!(stderr.lines().any(|l| l == want), "{want:?} in {stderr}");
        assert!(
            !stderr.contains("hunter2") && !stderr.contains("elsewhere"),
            "{stderr}"
        );
    }
    // Used, or not set: no note.
    let out = comfyctl()
        .env("COMFYUI_URL", hold.addr())
        .args(["health", "--timeout", "1s"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("note:"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn urls_that_differ_only_in_credentials_are_merged_with_a_note() {
    let hold = crate::support::RefusedPort::new();
    let addr = hold.addr();
    let out = comfyctl()
        .args(["health", "--json", "--timeout", "1s"])
        .args(["--url", &format!("http://alice:pw-one@{addr}")])
        .args(["--url", &format!("http://bob:pw-two@{addr}/")])
        .args(["--url", &format!("http://{addr}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
    assert_eq!(
        notes,
        [format!(
            "note: http://***@{addr} is given more than once with different credentials; only the first is used"
        )],
        "{stderr}"
    );
    let text = crate::util::all_output(&out);
    for secret in ["alice", "bob", "pw-one", "pw-two"] {
        assert!(!text.contains(secret), "{text}");
    }
    let status = crate::util::json(&out.stdout);
    assert_eq!(status.as_array().map(Vec::len), Some(1), "{status}");
    // The same URL twice, credentials and all, is merged silently.
    let url = format!("http://alice:pw-one@{addr}");
    let out = comfyctl()
        .args(["health", "--timeout", "1s", "--url", &url, "--url", &url])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("note:"));
}
