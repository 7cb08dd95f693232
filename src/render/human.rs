//! Human-readable text for a [`Status`].

use indicatif::HumanBytes;

use super::safe::term_safe;
use super::{Output, style};
use crate::manager::readiness::CheckResult;
use crate::manager::{State, Status};

/// The mark and word that open a server's block or row: up and ready (or
/// no checks asked), up but not ready (exit 3, in the colour of the states
/// that mean the same in `watch`), or down.
fn headline(status: &Status, out: &Output) -> (String, String) {
    let not_ready = style::state(out, State::Degraded);
    match (status.available, status.fully_ready) {
        (true, Some(false)) => (
            not_ready.apply_to("◐").to_string(),
            not_ready.apply_to("not ready").to_string(),
        ),
        (true, _) => (
            style::good(out).apply_to("●").to_string(),
            style::good(out).bold().apply_to("available").to_string(),
        ),
        (false, _) => (
            style::bad(out).apply_to("✗").to_string(),
            style::bad(out).bold().apply_to("unavailable").to_string(),
        ),
    }
}

/// The compact block `comfyctl health` prints.
pub fn status_block(status: &Status, out: &Output) -> String {
    let mut lines = Vec::new();
    let (mark, state) = headline(status, out);
    let version = status
        .version
        .as_deref()
        .map(|v| format!("  ComfyUI {}", term_safe(v)))
        .unwrap_or_default();
    lines.push(format!("{mark} {state}  {}{version}", status.url));
    let label = |name: &str| style::dim(out).apply_to(format!("{name:<9}")).to_string();
    if status.available {
        lines.push(format!("  {}{}", label("queue"), queue_summary(status)));
        for d in &status.devices {
            lines.push(format!("  {}{}", label("device"), device_line(d)));
        }
        if let (Some(free), Some(total)) = (status.ram_free, status.ram_total) {
            lines.push(format!(
                "  {}{} free of {}",
                label("ram"),
                HumanBytes(free),
                HumanBytes(total)
            ));
        }
        if let Some(ms) = status.latency_ms {
            lines.push(format!("  {}{ms:.1} ms", label("latency")));
        }
    }
    if let Some(e) = &status.error {
        lines.push(format!(
            "  {}{}",
            label("error"),
            style::bad(out).apply_to(term_safe(&e.message))
        ));
    }
    lines.join("\n")
}

/// `health --expect down` got what it asked for: the server is gone. Reads
/// as success, not as an outage.
pub fn gone_line(status: &Status, out: &Output) -> String {
    format!(
        "{} {}  {}  nothing is listening any more (connection refused)",
        style::good(out).apply_to("●"),
        style::good(out).bold().apply_to("gone"),
        status.url
    )
}

/// One row for a server in a multi-server listing.
pub fn status_row(status: &Status, out: &Output) -> String {
    if status.available {
        let version = term_safe(status.version.as_deref().unwrap_or("?"));
        let latency = status
            .latency_ms
            .map(|ms| format!(" · {ms:.1} ms"))
            .unwrap_or_default();
        format!(
            "{} {}  ComfyUI {version} · queue {}{latency}",
            headline(status, out).0,
            status.url,
            queue_summary(status)
        )
    } else {
        let error = status
            .error
            .as_ref()
            .map_or("unavailable", |e| e.message.as_str());
        format!(
            "{} {}  {}",
            style::bad(out).apply_to("✗"),
            status.url,
            style::bad(out).apply_to(term_safe(error))
        )
    }
}

/// One line per readiness check, with per-node workflow problems under it.
pub fn checks_block(results: &[CheckResult], out: &Output) -> String {
    let mut lines = Vec::new();
    for r in results {
        let mark = if r.ok {
            style::good(out).apply_to("✓")
        } else {
            style::bad(out).apply_to("✗")
        };
        lines.push(format!("  {mark} {}: {}", r.check, term_safe(&r.detail)));
        // The detail line already shows the first problem.
        if r.problems.len() > 1 {
            for p in &r.problems[1..] {
                lines.push(format!("      {}", term_safe(&p.to_string())));
            }
        }
    }
    lines.join("\n")
}

/// `0 remaining · 0 running · 0 pending`.
pub fn queue_summary(status: &Status) -> String {
    queue_text(
        status.queue_remaining,
        status.queue_running,
        status.queue_pending,
    )
}

/// `0 remaining · 0 running · 0 pending`, with `?` for what is unknown.
pub fn queue_text(remaining: Option<u64>, running: Option<u64>, pending: Option<u64>) -> String {
    format!(
        "{} remaining · {} running · {} pending",
        count(remaining),
        count(running),
        count(pending)
    )
}

/// A count, or `?` when the server did not say.
pub fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn device_line(d: &crate::manager::Device) -> String {
    let vram = match (d.vram_free, d.vram_total) {
        (Some(free), Some(total)) => {
            format!("  {} free of {} VRAM", HumanBytes(free), HumanBytes(total))
        }
        _ => String::new(),
    };
    format!("{} ({}){vram}", term_safe(&d.name), term_safe(&d.kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::{Device, ErrorKind, ProbeError};

    #[test]
    fn block_shows_state_version_queue_devices_latency() {
        let status = Status {
            available: true,
            version: Some("0.3.64".into()),
            queue_remaining: Some(3),
            queue_running: Some(1),
            queue_pending: Some(2),
            latency_ms: Some(2.5),
            devices: vec![Device {
                name: "cpu".into(),
                kind: "cpu".into(),
                vram_total: Some(2 << 30),
                vram_free: Some(1 << 30),
                torch_vram_free: None,
            }],
            ..Status::unknown("http://h:1".into())
        };
        let text = status_block(&status, &Output::PLAIN);
        for needle in [
            "available",
            "ComfyUI 0.3.64",
            "3 remaining · 1 running · 2 pending",
            "1.00 GiB free of 2.00 GiB VRAM",
            "2.5 ms",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn block_shows_the_error_when_down() {
        let status = Status::failed(
            "http://h:1".into(),
            ProbeError::new(ErrorKind::ConnectionRefused, "connection refused: x"),
        );
        let text = status_block(&status, &Output::PLAIN);
        assert!(text.contains("unavailable") && text.contains("connection refused: x"));
    }

    #[test]
    fn not_ready_has_its_own_mark_in_block_and_row() {
        let mut status = Status {
            available: true,
            fully_ready: Some(false),
            ..Status::unknown("http://h:1".into())
        };
        let block = status_block(&status, &Output::PLAIN);
        assert!(block.starts_with("◐ not ready  http://h:1"), "{block}");
        assert!(status_row(&status, &Output::PLAIN).starts_with("◐ http://h:1"));
        status.fully_ready = Some(true);
        assert!(status_block(&status, &Output::PLAIN).starts_with("● available"));
        assert!(status_row(&status, &Output::PLAIN).starts_with("● http://h:1"));
    }

    #[test]
    fn server_strings_are_escaped_in_block_and_row() {
        let status = Status {
            available: true,
            version: Some("0.3\u{1b}[2J\r\nFAKE".into()),
            devices: vec![Device {
                name: "gpu\u{1b}]0;title\u{7}".into(),
                kind: "cuda\u{202e}".into(),
                vram_total: None,
                vram_free: None,
                torch_vram_free: None,
            }],
            ..Status::unknown("http://h:1".into())
        };
        for text in [
            status_block(&status, &Output::PLAIN),
            status_row(&status, &Output::PLAIN),
        ] {
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{text:?}"
            );
            assert!(!text.contains('\u{202e}'), "{text:?}");
            assert!(text.contains("0.3\\u{1b}[2J\\r\\nFAKE"), "{text}");
        }
        let down = Status::failed(
            "http://h:1".into(),
            ProbeError::new(ErrorKind::Network, "closed (code 1011, 'x\u{1b}[31my')"),
        );
        let text = status_block(&down, &Output::PLAIN) + &status_row(&down, &Output::PLAIN);
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}
