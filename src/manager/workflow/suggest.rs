//! "Did you mean": close matches among the names and options a server
//! offers.

use std::collections::BTreeMap;

use serde_json::Value;

/// How close an option must be (0 to 1) to be offered as "did you mean".
pub(super) const SUGGEST_THRESHOLD: f64 = 0.6;
/// At most this many "did you mean" entries per problem.
pub(super) const SUGGEST_MAX: usize = 3;
/// "Did you mean" for bad combo values. When the server offers only a
/// handful of options and none is close, those are the only valid choices,
/// so all of them are the most useful hint.
pub(super) fn suggest_options(bad: &[&Value], options: &[Value]) -> Vec<String> {
    let strings: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
    let mut out: Vec<String> = Vec::new();
    for wanted in bad.iter().filter_map(|v| v.as_str()) {
        for s in suggest(wanted, strings.iter().map(|&o| (o, o))) {
            if !out.contains(&s) && out.len() < SUGGEST_MAX {
                out.push(s);
            }
        }
    }
    if out.is_empty() && (1..=SUGGEST_MAX).contains(&strings.len()) {
        out = strings.iter().map(|&s| s.to_owned()).collect();
    }
    out
}

/// The node classes of `/object_info` as candidates, by class name and by
/// display name, so "Load Checkpoint" suggests CheckpointLoaderSimple.
pub(super) fn node_candidates(object_info: &Value) -> impl Iterator<Item = (&str, &str)> {
    let names = object_info.as_object().into_iter().flatten();
    names.flat_map(|(name, info)| {
        let display = info.get("display_name").and_then(Value::as_str);
        std::iter::once((name.as_str(), name.as_str())).chain(display.map(|d| (name.as_str(), d)))
    })
}

/// The candidates closest to `wanted`, best first. Each candidate is
/// (name to suggest, text to compare against).
pub(super) fn suggest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<String> {
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, against) in candidates {
        let score = similarity(wanted, against);
        let entry = best.entry(name).or_insert(score);
        *entry = entry.max(score);
    }
    let mut ranked: Vec<(&str, f64)> = best
        .into_iter()
        .filter(|&(_, score)| score >= SUGGEST_THRESHOLD)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(SUGGEST_MAX)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// 0 (nothing alike) to 1 (same up to case and path separators). Model
/// files are compared by file name without extension, so a file in a
/// different subfolder, or with `\` from a Windows server, still matches.
pub(super) fn similarity(a: &str, b: &str) -> f64 {
    let norm = |s: &str| s.to_lowercase().replace('\\', "/");
    let (a, b) = (norm(a), norm(b));
    if a == b {
        return 1.0;
    }
    let base = |s: &str| s.rsplit('/').next().unwrap_or_default().to_owned();
    let (a, b) = (base(&a), base(&b));
    if a == b {
        return 0.95;
    }
    let (a, b) = (stem(&a), stem(&b));
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    let (short_len, long_len) = (short.chars().count(), long.chars().count());
    // A name inside the other ("euler_a" in "euler_ancestral") is close,
    // the more so the more of it it covers.
    if short_len >= 4 && long.contains(short) {
        return 0.7 + 0.2 * short_len as f64 / long_len as f64;
    }
    let longest = long_len.min(LEV_MAX);
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

/// A file name without its extension (one with a letter in it, so the ".0"
/// of "sd_xl_base_1.0" stays).
pub(super) fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=12).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic()) =>
        {
            stem
        }
        _ => name,
    }
}

/// Only this many characters are compared, so a long value against many
/// class names stays cheap.
const LEV_MAX: usize = 64;

/// Edit distance in characters over the first [`LEV_MAX`] of each.
pub(super) fn levenshtein(a: &str, b: &str) -> usize {
    let head = |s: &str| match s.char_indices().nth(LEV_MAX) {
        Some((at, _)) => s[..at].to_owned(),
        None => s.to_owned(),
    };
    strsim::levenshtein(&head(a), &head(b))
}
