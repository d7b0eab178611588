//! What a YAML scalar means, as kubectl reads it.
//!
//! kubectl turns YAML into JSON with sigs.k8s.io/yaml, which resolves scalars by go-yaml
//! v2's rules and then makes every map key a string. Those rules are YAML 1.1 with
//! particular choices, recorded by running kubectl in
//! `tests/golden/kubectl-scalars.jsonl`:
//!
//! - booleans are `y`, `yes`, `true`, `on` and their negations, each only in lower case,
//!   Capitalised or UPPER case (`tRUE` is a string);
//! - integers follow Go's literal syntax once underscores are removed: `0755` and `0o755`
//!   are octal, `0x1F`/`0X1F` hex, `0b101` binary; decimals too large for 64 bits are
//!   floats, and hex, octal or binary ones strings;
//! - `08` and `1_000.5` are floats; base-60 numbers (`190:20:30`) and timestamps stay strings;
//! - the object then goes through JSON: an integral float becomes an integer
//!   (`1e3` is 1000), integers past `i64::MAX` become floats, and infinities and NaN cannot
//!   be written at all;
//! - keys become strings: `on:` is `"true"`, `0755:` is `"493"`, a float key is printed
//!   with float32 precision (`3.14159265358979:` is `"3.1415927"`); null keys and integer
//!   keys past `i64::MAX` are errors.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Number, Value};

/// A scalar's meaning before it becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// Above `i64::MAX`: go-yaml keeps it as `uint64`.
    Uint(u64),
    Float(f64),
    Str,
    /// `!!binary`: the decoded text.
    Binary(String),
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// Single- or double-quoted.
    Quoted,
    /// Literal (`|`) or folded (`>`).
    Block,
}

impl Resolved {
    /// What the value is called in messages about identity fields; `None` for text.
    pub fn type_name(&self) -> Option<&'static str> {
        match self {
            Resolved::Null => Some("null"),
            Resolved::Bool(_) => Some("a boolean"),
            Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => Some("a number"),
            Resolved::Str | Resolved::Binary(_) => None,
        }
    }

    /// The JSON value kubectl sends for it. `text` is the scalar as written.
    pub fn to_json(&self, text: &str) -> Result<Value, String> {
        Ok(match self {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(*b),
            Resolved::Int(i) => Value::from(*i),
            Resolved::Uint(u) => float_json(*u as f64)?,
            Resolved::Float(f) => float_json(*f)?,
            Resolved::Str => Value::String(text.to_string()),
            Resolved::Binary(decoded) => Value::String(decoded.clone()),
        })
    }

    /// The string a map key becomes, when it is not the key as written (`None`).
    pub fn key_text(&self, text: &str) -> Result<Option<String>, String> {
        match self {
            Resolved::Str => Ok(None),
            Resolved::Binary(decoded) => Ok(Some(decoded.clone())),
            Resolved::Bool(b) => Ok(Some(b.to_string())),
            Resolved::Int(i) => Ok(Some(i.to_string())),
            Resolved::Float(f) => Ok(Some(float32_key(*f))),
            Resolved::Null => Err(format!(
                "the map key `{text}` is null, and object keys must be strings; quote it"
            )),
            Resolved::Uint(_) => Err(format!(
                "the map key `{text}` is an integer too large for a key; quote it"
            )),
        }
    }

    /// Whether JSON can carry it: infinities and NaN it cannot.
    pub fn fits_json(&self) -> Result<(), String> {
        match self {
            Resolved::Float(f) if !f.is_finite() => Err(NOT_FINITE.to_string()),
            _ => Ok(()),
        }
    }
}

const NOT_FINITE: &str =
    "an infinite or NaN number, which JSON cannot carry; quote it if it is text";

/// go-yaml v2's resolution of a plain (unquoted, untagged) scalar.
pub fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => Hint::Number,
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => Hint::Word,
        b'.' => Hint::Dot,
        _ => return Resolved::Str,
    };
    if let Some(known) = known_word(text) {
        return known;
    }
    match hint {
        Hint::Word => Resolved::Str,
        Hint::Dot => go_parse_float(text).map_or(Resolved::Str, Resolved::Float),
        Hint::Number => resolve_number(text),
    }
}

enum Hint {
    Number,
    Word,
    Dot,
}

/// Whether a plain scalar could be something other than a string: a cheap test that lets
/// the words nearly every manifest is made of skip [`resolve_plain`].
pub fn may_not_be_text(text: &str) -> bool {
    match text.as_bytes().first() {
        None => true,
        Some(b'+' | b'-' | b'0'..=b'9' | b'.' | b'~') => true,
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O') => {
            text.len() <= 5
        }
        Some(_) => false,
    }
}

fn known_word(text: &str) -> Option<Resolved> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// A scalar starting with a digit or a sign: underscores go, then Go's integer syntax
/// (`0x`, `0o`, `0b`, a leading `0` for octal), then a decimal float.
fn resolve_number(text: &str) -> Resolved {
    let plain: Cow<'_, str> = if text.contains('_') {
        Cow::Owned(text.replace('_', ""))
    } else {
        Cow::Borrowed(text)
    };
    match go_parse_int(&plain) {
        IntParse::Int(i) => return Resolved::Int(i),
        IntParse::Uint(u) => return Resolved::Uint(u),
        IntParse::Invalid => {}
    }
    if is_yaml_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

enum IntParse {
    Int(i64),
    Uint(u64),
    Invalid,
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`, without underscores.
fn go_parse_int(text: &str) -> IntParse {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = |i: usize| unsigned.as_bytes().get(i).map(u8::to_ascii_lowercase);
    let (radix, digits) = match (lower(0), lower(1)) {
        (Some(b'0'), Some(b'x')) => (16, &unsigned[2..]),
        (Some(b'0'), Some(b'o')) => (8, &unsigned[2..]),
        (Some(b'0'), Some(b'b')) => (2, &unsigned[2..]),
        (Some(b'0'), Some(_)) => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::Invalid;
    }
    match u128::from_str_radix(digits, radix) {
        Ok(magnitude) if negative && magnitude <= i64::MIN.unsigned_abs() as u128 => {
            IntParse::Int((magnitude as i128).wrapping_neg() as i64)
        }
        Ok(magnitude) if !negative && magnitude <= i64::MAX as u128 => {
            IntParse::Int(magnitude as i64)
        }
        // ParseUint takes no sign.
        Ok(magnitude) if unsigned.len() == text.len() && magnitude <= u64::MAX as u128 => {
            IntParse::Uint(magnitude as u64)
        }
        // Past 64 bits: a decimal may still be a float; hex, octal and binary stay text.
        _ => IntParse::Invalid,
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach it with; `None`
/// where Go fails, overflow included (`1e400` stays a string).
fn go_parse_float(text: &str) -> Option<f64> {
    let cleaned: Cow<'_, str> = if text.contains('_') {
        if !underscores_between_digits(text) {
            return None;
        }
        Cow::Owned(text.replace('_', ""))
    } else {
        Cow::Borrowed(text)
    };
    let decimal = cleaned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return None;
    }
    let value: f64 = cleaned.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Go accepts an underscore in a number only between two digits.
fn underscores_between_digits(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'_'
            || (i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// A float as kubectl's JSON carries it: an integral value below 1e21 is written without
/// a fraction and read back as an integer when it fits `i64`.
fn float_json(value: f64) -> Result<Value, String> {
    if !value.is_finite() {
        return Err(NOT_FINITE.to_string());
    }
    if value.fract() == 0.0 && value.abs() < 1e21 {
        let (digits, exponent) = shortest_digits(&format!("{value:e}"));
        let zeros = usize::try_from(exponent + 1 - digits.len() as i32).unwrap_or(0);
        let text = format!(
            "{}{digits}{}",
            if value < 0.0 { "-" } else { "" },
            "0".repeat(zeros)
        );
        if let Ok(integer) = text.parse::<i64>() {
            return Ok(Value::from(integer));
        }
    }
    Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
}

/// Splits Rust's shortest `{:e}` form (`-1.2345e3`) into its digits (`12345`) and the
/// decimal exponent of the first one (3).
fn shortest_digits(exp_form: &str) -> (String, i32) {
    let unsigned = exp_form.trim_start_matches('-');
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exponent.parse().unwrap_or(0))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`, with YAML's spellings of the infinities
/// and NaN: how sigs.k8s.io/yaml turns a float key into a string.
fn float32_key(value: f64) -> String {
    let single = value as f32;
    if single.is_nan() {
        return ".nan".to_string();
    }
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let sign = if single.is_sign_negative() { "-" } else { "" };
    if single == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exponent) = shortest_digits(&format!("{single:e}"));
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        );
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let integer_digits = exponent as usize + 1;
    if digits.len() <= integer_digits {
        format!(
            "{sign}{digits}{}",
            "0".repeat(integer_digits - digits.len())
        )
    } else {
        let (whole, fraction) = digits.split_at(integer_digits);
        format!("{sign}{whole}.{fraction}")
    }
}

/// The meaning of a scalar carrying a tag, as go-yaml v2 gives it. `tag` is in short form
/// (`!!int`, `!custom`). Unknown tags leave the text a string, as kubectl does.
pub fn resolve_tagged(tag: &str, text: &str) -> Result<Resolved, String> {
    let resolved = match tag {
        "!!str" => return Ok(Resolved::Str),
        "!!binary" => {
            let compact: String = text.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| "a value tagged !!binary is not valid base64".to_string())?;
            let decoded = String::from_utf8_lossy(&bytes).into_owned();
            return Ok(Resolved::Binary(decoded));
        }
        "!!merge" if text == "<<" => return Ok(Resolved::Str),
        "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" => resolve_plain(text),
        _ => return Ok(Resolved::Str),
    };
    let matches = match (tag, &resolved) {
        ("!!bool", Resolved::Bool(_)) | ("!!null", Resolved::Null) => true,
        ("!!int", Resolved::Int(_) | Resolved::Uint(_)) => true,
        ("!!float", Resolved::Float(_)) => true,
        ("!!timestamp", Resolved::Str) => is_timestamp(text),
        _ => false,
    };
    if matches {
        return Ok(resolved);
    }
    match (tag, resolved) {
        ("!!float", Resolved::Int(i)) => Ok(Resolved::Float(i as f64)),
        _ => Err(format!("a value tagged {tag} is not of that type")),
    }
}

/// The timestamp forms go-yaml v2 accepts: a date, or a date and time.
fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 8
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && text[5..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b":.-+tTzZ ".contains(&b))
}

/// A tag in the short form go-yaml names it by.
pub fn short_tag(handle: &str, suffix: &str) -> String {
    match handle.strip_prefix("tag:yaml.org,2002:") {
        Some("") => format!("!!{suffix}"),
        _ => format!("{handle}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_print_as_go_prints_float32() {
        for (value, text) in [
            (1000.0, "1000"),
            (1000.5, "1000.5"),
            (0.001, "0.001"),
            (0.00001, "1e-05"),
            (1e20, "1e+20"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1.23456789012, "1.2345679"),
            (-0.0, "-0"),
            (1.8446744073709552e19, "1.8446744e+19"),
            (f64::INFINITY, ".inf"),
        ] {
            assert_eq!(float32_key(value), text, "{value}");
        }
    }

    #[test]
    fn integral_floats_become_integers_as_kubectl_sends_them() {
        assert_eq!(float_json(1000.0), Ok(Value::from(1000)));
        assert_eq!(float_json(-0.0), Ok(Value::from(0)));
        assert_eq!(float_json(0.5), Ok(serde_json::json!(0.5)));
        assert_eq!(float_json(1e20), Ok(serde_json::json!(1e20)));
        assert!(float_json(f64::NAN).is_err());
    }
}
