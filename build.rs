//! Stamps `--version` with the git commit and the build date, as xh and
//! ripgrep do. Without git (a source tarball, no `.git`) both fall back to
//! "unknown"; the build never fails for it.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=COMFYCTL_COMMIT={commit}");
    println!("cargo:rustc-env=COMFYCTL_BUILD_DATE={}", build_date());
    // Rebuild the stamp when HEAD moves (works in worktrees too, where
    // `.git` is a file pointing elsewhere).
    if let Some(p) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={p}");
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &reference])
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// Today (UTC) as YYYY-MM-DD, or `SOURCE_DATE_EPOCH`'s day for
/// reproducible builds.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs())
        });
    let Some(secs) = secs else {
        return "unknown".into();
    };
    // RFC 3339 begins with the date: humantime's calendar, not our own
    // (which stops at the year 9999).
    let secs = secs.min(253_402_300_799);
    let stamp = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs));
    stamp.to_string()[..10].to_string()
}
