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
/// when anything was cut. The cut falls between whole characters of the
/// original: an escape such as `\u{1b}` is kept whole or left out, never
/// cut inside (`\u{1…` would read as a broken escape).
pub fn term_safe_bounded(s: &str, max: usize) -> String {
    if term_safe(s).chars().count() <= max {
        return term_safe(s).into_owned();
    }
    let room = max.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let piece: String = if unsafe_char(c) {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        let n = piece.chars().count();
        if used + n > room {
            break;
        }
        used += n;
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// Where to cut `chars` (a [`term_safe`] string) at or before `end` so that
/// no escape is split: a cut inside `\u{…}`, `\n`, `\r` or `\t` moves to
/// before its backslash.
pub fn escape_end(chars: &[char], end: usize) -> usize {
    let end = end.min(chars.len());
    // The longest escape, `\u{10ffff}`, is 10 characters.
    let from = end.saturating_sub(10);
    let Some(slash) = chars[from..end].iter().rposition(|c| *c == '\\') else {
        return end;
    };
    let slash = from + slash;
    let complete = match chars.get(slash + 1) {
        // A backslash that ends the text may be an escape's first half.
        None => false,
        Some('n' | 'r' | 't') => slash + 2 <= end,
        Some('u') => match chars.get(slash + 2) {
            None => false,
            Some('{') => chars[slash..]
                .iter()
                .position(|c| *c == '}')
                .is_some_and(|close| slash + close < end),
            Some(_) => true,
        },
        _ => true,
    };
    if complete { end } else { slash }
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

    #[test]
    fn a_cut_never_ends_inside_an_escape() {
        // `ab\u{1b}cd` is 10 characters once escaped; 6 would end in `\u{1`.
        assert_eq!(term_safe_bounded("ab\x1bcd", 6), "ab…");
        assert_eq!(term_safe_bounded("ab\x1bcd", 9), "ab\\u{1b}…");
        assert_eq!(term_safe_bounded("ab\ncd", 4), "ab…");
        assert_eq!(term_safe_bounded("ab\ncd", 5), "ab\\n…");
        let chars: Vec<char> = term_safe("0.3\x1b[2J").chars().collect();
        assert_eq!(escape_end(&chars, 5), 3, "inside the escape");
        assert_eq!(escape_end(&chars, 9), 9, "right after it");
        let chars: Vec<char> = "abc\\ndef".chars().collect();
        assert_eq!(escape_end(&chars, 4), 3);
        assert_eq!(escape_end(&chars, 2), 2);
    }
}
