//! `--min-vram-free SIZE`: room on the primary device, judged from the
//! `/system_stats` the health probe already read (no request of its own).

use indicatif::HumanBytes;

use super::{Check, CheckResult};
use crate::manager::Device;

/// A size from the command line: its bytes, and how it is shown (with the
/// unit it was read in, so `2G` shows as `2GiB`: what it was taken to mean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Size {
    /// The size in bytes.
    pub bytes: u64,
    /// e.g. `8GiB`, `512MB`, `1073741824B`.
    pub shown: String,
}

/// Decimal units (`KB`, `MB`, `GB`, `TB`) are powers of 1000, as disk makers
/// and Kubernetes mean them; `KiB` … `TiB` and the bare letters `K` … `T` are
/// powers of 1024, as `free -h`, `docker --memory` and ComfyUI's own
/// "Total VRAM … MB" log line (which is MiB) mean them. No unit or `B`: bytes.
const UNITS: &[(&str, u64, &str)] = &[
    ("", 1, "B"),
    ("b", 1, "B"),
    ("kb", 1000, "KB"),
    ("mb", 1000_u64.pow(2), "MB"),
    ("gb", 1000_u64.pow(3), "GB"),
    ("tb", 1000_u64.pow(4), "TB"),
    ("k", 1 << 10, "KiB"),
    ("m", 1 << 20, "MiB"),
    ("g", 1 << 30, "GiB"),
    ("t", 1 << 40, "TiB"),
    ("kib", 1 << 10, "KiB"),
    ("mib", 1 << 20, "MiB"),
    ("gib", 1 << 30, "GiB"),
    ("tib", 1 << 40, "TiB"),
];

/// Parses `8GiB`, `1.5G`, `512MB`, `512 MB` or `1073741824` (units in any
/// case); the error names what to write instead.
pub fn parse_size(text: &str) -> Result<Size, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim_start());
    let found = UNITS
        .iter()
        .find(|(name, ..)| name.eq_ignore_ascii_case(unit));
    let bad = || {
        format!(
            "'{}' is not a size; use e.g. 8GiB, 512MB, 2G (GiB) or a number of bytes",
            crate::render::safe::term_safe_bounded(text, 40)
        )
    };
    let (Some(&(_, scale, canonical)), Ok(value)) = (found, number.parse::<f64>()) else {
        return Err(bad());
    };
    let bytes = value * scale as f64;
    // Whole bytes only; a fraction of a unit is fine (`1.5GiB`).
    if !bytes.is_finite() || bytes >= u64::MAX as f64 || (scale == 1 && number.contains('.')) {
        return Err(bad());
    }
    Ok(Size {
        bytes: bytes.round() as u64,
        shown: format!("{number}{canonical}"),
    })
}

/// `vram free ≥ SIZE` on `devices[0]`, the device ComfyUI runs on. A CPU
/// "device" reports system RAM as its VRAM: that is no room on a GPU, so
/// the check fails and says so; so does a server that lists no device.
pub fn check(devices: &[Device], min: &Size) -> CheckResult {
    let check = Check::MinVramFree(min.clone());
    let Some(device) = devices.first() else {
        return CheckResult::new(check, false, "the server lists no device in /system_stats");
    };
    if device.kind == "cpu" {
        return CheckResult::new(
            check,
            false,
            "no GPU: ComfyUI runs on the CPU (its device cpu reports system RAM, not VRAM)",
        );
    }
    let Some(free) = device.vram_free else {
        let detail = format!("{} reports no vram_free", device.name);
        return CheckResult::new(check, false, detail);
    };
    let total = match device.vram_total {
        Some(total) => format!(" of {}", HumanBytes(total)),
        None => String::new(),
    };
    let found = format!("{} free{total} on {}", HumanBytes(free), device.name);
    match free >= min.bytes {
        true => CheckResult::new(check, true, found),
        false => CheckResult::new(check, false, format!("{found}, less than {}", min.shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> (u64, String) {
        let s = parse_size(text).unwrap();
        (s.bytes, s.shown)
    }

    #[test]
    fn decimal_units_are_powers_of_1000_and_letters_of_1024() {
        assert_eq!(size("8GiB"), (8 << 30, "8GiB".into()));
        assert_eq!(size("2G"), (2 << 30, "2GiB".into()));
        assert_eq!(size("512MB"), (512_000_000, "512MB".into()));
        assert_eq!(size("512 mb"), (512_000_000, "512MB".into()));
        assert_eq!(size("1.5GiB"), (3 << 29, "1.5GiB".into()));
        assert_eq!(size("1073741824"), (1 << 30, "1073741824B".into()));
        for bad in [
            "",
            "GiB",
            "8 gigs",
            "1.5",
            "-1G",
            "1e3G",
            "8GiB extra",
            "99999999999T",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("is not a size"), "{bad}: {e}");
        }
    }

    fn device(kind: &str, free: Option<u64>) -> Device {
        Device {
            name: format!("{kind}:0 Card"),
            kind: kind.into(),
            vram_total: Some(24 << 30),
            vram_free: free,
            torch_vram_free: None,
        }
    }

    #[test]
    fn the_primary_device_is_judged_and_a_cpu_is_no_gpu() {
        let min = parse_size("8GiB").unwrap();
        let roomy = [device("cuda", Some(20 << 30)), device("cuda", Some(0))];
        let r = check(&roomy, &min);
        assert!(r.ok, "{}", r.detail);
        assert_eq!(r.detail, "20.00 GiB free of 24.00 GiB on cuda:0 Card");
        assert_eq!(r.check.to_string(), "vram free ≥ 8GiB");
        let full = check(&[device("cuda", Some(1 << 30))], &min);
        assert!(
            !full.ok && full.detail.ends_with("less than 8GiB"),
            "{}",
            full.detail
        );
        let cpu = check(&[device("cpu", Some(100 << 30))], &min);
        assert!(
            !cpu.ok && cpu.detail.starts_with("no GPU"),
            "{}",
            cpu.detail
        );
        assert!(!check(&[], &min).ok);
        assert!(!check(&[device("cuda", None)], &min).ok);
    }
}
