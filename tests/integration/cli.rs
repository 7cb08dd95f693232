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
