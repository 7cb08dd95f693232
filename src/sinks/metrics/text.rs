//! The text side of the exposition: series in a stable order, and the
//! classic Prometheus format for scrapers that do not ask for OpenMetrics.

/// `text` with the samples of each metric family sorted by their label set
/// (without `le`), so scrapes list series in the same order every time. The
/// sort is stable: a histogram's lines stay together and in order.
pub(super) fn sort_series(text: &str) -> String {
    fn key(sample: &str) -> String {
        let head = sample.rsplit_once(' ').map_or(sample, |(h, _)| h);
        let mut labels = head
            .find('{')
            .zip(head.rfind('}'))
            .map_or(String::new(), |(a, b)| head[a..=b].to_string());
        let start = ["{le=\"", ",le=\""]
            .iter()
            .find_map(|p| labels.find(p).map(|at| at + 1));
        if let Some(at) = start {
            let value = at + 4;
            let mut end = labels.len();
            let mut escaped = false;
            for (i, c) in labels[value..].char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = value + i + 1;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            // Take the pair and one comma beside it.
            let (from, to) = if labels[end..].starts_with(',') {
                (at, end + 1)
            } else {
                (at - 1, end)
            };
            labels.replace_range(from..to, "");
            if !labels.starts_with('{') {
                labels.insert(0, '{');
            }
        }
        labels
    }
    let mut out = String::with_capacity(text.len());
    let mut samples: Vec<&str> = Vec::new();
    let flush = |samples: &mut Vec<&str>, out: &mut String| {
        samples.sort_by_cached_key(|s| key(s));
        for s in samples.drain(..) {
            out.push_str(s);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut samples, &mut out);
            out.push_str(line);
            out.push('\n');
        } else {
            samples.push(line);
        }
    }
    flush(&mut samples, &mut out);
    out
}

/// OpenMetrics text → the classic Prometheus text format (0.0.4), for
/// scrapers that do not ask for OpenMetrics (curl, `promtool check metrics`,
/// older agents). The formats differ in what matters here: a counter's
/// family is named with its `_total` suffix, and there is no `# UNIT`,
/// `_created` or `# EOF`.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let family = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split(' ').next())
                .filter(|name| counters.contains(name))
                .map(|name| (prefix.len() + name.len(), name))
        };
        if let Some((end, _)) = family("# HELP ").or_else(|| family("# TYPE ")) {
            out.push_str(&line[..end]);
            out.push_str("_total");
            out.push_str(&line[end..]);
        } else if !line.starts_with('#')
            && counters.iter().any(|c| {
                line.strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with("_created"))
            })
        {
            continue;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_lines_stay_together_and_in_order() {
        let text = "# TYPE x histogram\nx_sum{t=\"b\"} 1\nx_count{t=\"b\"} 1\nx_bucket{le=\"0.1\",t=\"b\"} 1\nx_bucket{le=\"+Inf\",t=\"b\"} 1\nx_sum{t=\"a\"} 2\nx_count{t=\"a\"} 2\nx_bucket{le=\"0.1\",t=\"a\"} 2\nx_bucket{le=\"+Inf\",t=\"a\"} 2\n# EOF\n";
        let sorted = sort_series(text);
        let lines: Vec<&str> = sorted.lines().collect();
        assert_eq!(lines[1], "x_sum{t=\"a\"} 2");
        assert_eq!(lines[4], "x_bucket{le=\"+Inf\",t=\"a\"} 2");
        assert_eq!(lines[5], "x_sum{t=\"b\"} 1");
        assert_eq!(lines[8], "x_bucket{le=\"+Inf\",t=\"b\"} 1");
        assert_eq!(lines[9], "# EOF");
    }

    #[test]
    fn classic_text_names_counters_with_total() {
        let open = "# HELP comfyui_reconnects sessions re-established.\n\
                    # TYPE comfyui_reconnects counter\n\
                    comfyui_reconnects_total{target=\"a\"} 2\n\
                    comfyui_reconnects_created{target=\"a\"} 1700000000.0\n\
                    # HELP comfyui_up 1 while up.\n\
                    # TYPE comfyui_up gauge\n\
                    # UNIT comfyui_up none\n\
                    comfyui_up{target=\"a\"} 1\n\
                    # EOF\n";
        let classic = classic_text(open);
        assert_eq!(
            classic,
            "# HELP comfyui_reconnects_total sessions re-established.\n\
             # TYPE comfyui_reconnects_total counter\n\
             comfyui_reconnects_total{target=\"a\"} 2\n\
             # HELP comfyui_up 1 while up.\n\
             # TYPE comfyui_up gauge\n\
             comfyui_up{target=\"a\"} 1\n"
        );
    }
}
