//! Makes server strings harmless before they reach a terminal or a plain log.
//!
//! Anything a server sends (versions, device names, node types, exception
//! messages, prompt ids, error texts) may hold escape sequences that clear the
//! screen, set the window title or forge a line. Every such string passes
//! through [`term_safe`] before a human renderer prints it. JSON output needs
//! no filter: serde escapes control characters itself.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1), line or paragraph
/// separator and bidirectional override shown as a visible escape such as
/// `\u{1b}` or `\n`, so the result is one line that draws only itself.
/// Returns `s` unchanged, without allocating, when nothing needs escaping.
pub fn term_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`term_safe`], then cut to at most `max` characters, ending in `…`
/// when anything was cut.
pub fn term_safe_bounded(s: &str, max: usize) -> String {
    let safe = term_safe(s);
    if safe.chars().count() <= max {
        return safe.into_owned();
    }
    let mut out: String = safe.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{2028}' | '\u{2029}'                // line and paragraph separators
            | '\u{200e}' | '\u{200f}'              // left-to-right / right-to-left marks
            | '\u{202a}'..='\u{202e}'              // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}'              // bidi isolates
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(term_safe("0.3.64 · NVIDIA ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_become_visible_and_one_line() {
        let hostile = "0.3\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}[31mEVIL\r\nFAKE LINE";
        let safe = term_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        assert_eq!(
            safe,
            "0.3\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{1b}[31mEVIL\\r\\nFAKE LINE"
        );
    }

    #[test]
    fn c1_and_bidi_controls_are_escaped() {
        let safe = term_safe("a\u{9b}31mb\u{202e}c\u{2028}d");
        assert_eq!(safe, "a\\u{9b}31mb\\u{202e}c\\u{2028}d");
    }

    #[test]
    fn bounded_cuts_with_ellipsis() {
        assert_eq!(term_safe_bounded("abcdef", 4), "abc…");
        assert_eq!(term_safe_bounded("abc", 4), "abc");
        assert_eq!(term_safe_bounded("a\nb", 10), "a\\nb");
    }
}
