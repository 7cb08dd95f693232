//! Fitting live output to the terminal width. A live region whose lines wrap
//! cannot be cleared reliably (a resize or Ctrl-C leaves stale rows behind),
//! so every line drawn in place is kept shorter than the terminal.

use super::{Output, Stream};

/// Columns a live line may use on `stream`'s terminal: one less than its
/// width, so the cursor never sits in the last column (80 when unknown).
pub fn budget(out: &Output, stream: Stream) -> usize {
    let term = match stream {
        Stream::Stdout => console::Term::stdout(),
        Stream::Stderr => console::Term::stderr(),
    };
    // Off a terminal (a forced live view in a pipe) `COLUMNS` says how wide
    // the reader is, as for most CLIs; else 80. The terminal's own size is
    // asked at every draw, so a resize counts at once.
    let columns = term
        .size_checked()
        .map(|(_, w)| usize::from(w))
        .or(out.columns)
        .unwrap_or(80);
    columns.saturating_sub(1).max(10)
}

/// `text` cut to `width` visible columns, ending in `…` when anything was
/// cut. ANSI colour codes are kept and do not count.
pub fn fit(text: &str, width: usize) -> String {
    let cut = console::truncate_str(text, width, "…");
    if cut == text {
        return cut.into_owned();
    }
    // Never end inside one of term_safe's escapes (`\u{1…`).
    match cut.rfind('…') {
        Some(at) => {
            let head: Vec<char> = cut[..at].chars().collect();
            let end = super::safe::escape_end(&head, head.len());
            let kept: String = head[..end].iter().collect();
            format!("{kept}{}", &cut[at..])
        }
        None => cut.into_owned(),
    }
}

/// Visible columns of `text` (ANSI codes excluded).
pub fn columns(text: &str) -> usize {
    console::measure_text_width(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_and_keeps_short_text() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        let red = console::Style::new().force_styling(true).red();
        let styled = format!("{} tail", red.apply_to("connected"));
        let cut = fit(&styled, 6);
        assert_eq!(columns(&cut), 6, "{cut:?}");
        assert!(cut.contains("\x1b[31m") && cut.ends_with('…') || cut.contains('…'));
        // An escape is kept whole or left out.
        assert_eq!(fit("node 0.3\\u{1b}[2J", 11), "node 0.3…");
        assert_eq!(fit("node 0.3\\u{1b}[2J", 15), "node 0.3\\u{1b}…");
    }
}
