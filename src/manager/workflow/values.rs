//! Python's value rules as ComfyUI applies them (`int()`, `float()`, `==`,
//! truthiness), and one-line display of JSON values for messages.

use std::cmp::Ordering;

use serde_json::Value;

/// Python truthiness, for flags in the spec.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `==` as `in` uses it on combo options: 1 == 1.0 == True.
pub(super) fn py_eq(a: &Value, b: &Value) -> bool {
    match (json_num(a), json_num(b)) {
        (Some(x), Some(y)) => compare(x, y) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// A number as Python holds it: exact integers, or floats.
#[derive(Debug, Clone, Copy)]
pub(super) enum Num {
    Int(i128),
    Float(f64),
}

pub(super) fn compare(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        _ => as_f64(a).partial_cmp(&as_f64(b)),
    }
}

pub(super) fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// A JSON number or boolean as a number (Python's bool is an int).
pub(super) fn json_num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(i128::from(*b))),
        Value::Number(n) => Some(if let Some(i) = n.as_i64() {
            Num::Int(i.into())
        } else if let Some(u) = n.as_u64() {
            Num::Int(u.into())
        } else {
            Num::Float(n.as_f64()?)
        }),
        _ => None,
    }
}

/// Python's `int(v)`: truncates floats, parses base-10 strings.
pub(super) fn to_int(v: &Value) -> Option<Num> {
    match json_num(v) {
        Some(Num::Float(f)) if f.is_finite() => Some(Num::Int(f.trunc() as i128)),
        Some(Num::Float(_)) => None,
        Some(int) => Some(int),
        None => parse_py_int(v.as_str()?),
    }
}

/// Python's `int(str)`: optional sign, digits with single `_` between them,
/// surrounding whitespace allowed.
pub(super) fn parse_py_int(s: &str) -> Option<Num> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let well_formed = !digits.is_empty()
        && digits
            .split('_')
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    // Python ints are unbounded; past i128 a float still orders correctly.
    match plain.parse::<i128>() {
        Ok(i) => Some(Num::Int(i)),
        Err(_) => plain.parse::<f64>().ok().map(Num::Float),
    }
}

/// Python's `float(v)`: numbers, booleans, and numeric strings ("1e3",
/// "inf", "nan").
pub(super) fn to_float(v: &Value) -> Option<Num> {
    if let Some(n) = json_num(v) {
        return Some(Num::Float(as_f64(n)));
    }
    v.as_str()?.trim().parse::<f64>().ok().map(Num::Float)
}

/// A value for a one-line message: strings quoted and escaped, long values
/// cut.
pub(super) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => show_str(s),
        other => cut(&other.to_string()),
    }
}

pub(super) fn show_str(s: &str) -> String {
    format!("'{}'", cut(&s.escape_debug().to_string()))
}

pub(super) fn cut(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}
