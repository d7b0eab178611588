//! The filters and functions chart templates can call, on top of Tera's built-ins.
//!
//! Names follow Tera's snake_case style; semantics follow Helm where chart authors expect
//! them (`indent` indents every line, `trunc` cuts without an ellipsis).

use std::borrow::Cow;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tera::{Error, Kwargs, State, Tera, TeraResult, Value};

use crate::chart::escape::escape_name;
use crate::yaml;

/// Number of hex characters `content_hash` keeps by default; the same length kustomize
/// uses for its generated ConfigMap names.
const CONTENT_HASH_LEN: usize = 10;

/// Registers every filter and function that does not need the finished engine.
/// (`include` and `tpl` do; see `engine.rs`.)
pub fn register(tera: &mut Tera) {
    tera.register_filter("to_yaml", to_yaml);
    tera.register_filter("to_json", to_json);
    tera.register_filter("indent", indent);
    tera.register_filter("nindent", nindent);
    tera.register_filter("quote", quote);
    tera.register_filter("squote", squote);
    tera.register_filter("b64enc", b64enc);
    tera.register_filter("b64dec", b64dec);
    tera.register_filter("sha256", sha256);
    tera.register_filter("content_hash", content_hash);
    tera.register_filter("trunc", trunc);
    tera.register_filter("required", required_filter);
    tera.register_function("required", required_function);
    tera.register_function("fail", fail);
}

/// `{{ values.resources | to_yaml }}`: YAML that YAML 1.1 readers such as kubectl read back
/// unchanged (ambiguous strings like `yes` or `0755` are quoted). No trailing newline.
fn to_yaml(value: Value, _: Kwargs, _: &State<'_>) -> TeraResult<String> {
    yaml::to_yaml(&value).map_err(Error::message)
}

/// `{{ values.x | to_json }}`, or `to_json(pretty=true)`.
fn to_json(value: Value, kwargs: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let pretty = kwargs.get::<bool>("pretty")?.unwrap_or(false);
    let json = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    json.map_err(|e| Error::message(format!("to_json: {e}")))
}

/// Helm's `indent`: every non-empty line gets `width` spaces, the first one included.
fn indent(text: Cow<'_, str>, kwargs: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let width = kwargs.get::<usize>("width")?.unwrap_or(4).min(1000);
    Ok(indent_lines(&text, width))
}

/// Helm's `nindent`: a newline, then `indent`. Lets a block start on its own line.
fn nindent(text: Cow<'_, str>, kwargs: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let width = kwargs.get::<usize>("width")?.unwrap_or(4).min(1000);
    Ok(format!("\n{}", indent_lines(&text, width)))
}

fn indent_lines(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(text.len() + width * 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// Wraps the value in double quotes, escaped as a YAML/JSON double-quoted string.
fn quote(value: Value, _: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let text = scalar_text(&value);
    // Charts quote thousands of values, and nearly none needs an escape: checking for
    // one without stopping early compiles to vector instructions.
    let needs_escape = text.bytes().fold(false, |found, b| {
        found | (b < b' ') | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        return serde_json::to_string(&text).map_err(|e| Error::message(format!("quote: {e}")));
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    quoted.push_str(&text);
    quoted.push('"');
    Ok(quoted)
}

/// Wraps the value in single quotes, doubling any single quote inside (YAML's escape).
fn squote(value: Value, _: Kwargs, _: &State<'_>) -> String {
    format!("'{}'", scalar_text(&value).replace('\'', "''"))
}

fn b64enc(text: Cow<'_, str>, _: Kwargs, _: &State<'_>) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

fn b64dec(text: Cow<'_, str>, _: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim().as_bytes())
        .map_err(|e| Error::message(format!("b64dec: not valid base64: {}", base64_problem(&e))))?;
    String::from_utf8(bytes).map_err(|_| Error::message("b64dec: the decoded bytes are not UTF-8"))
}

/// What is wrong with base64 text, in words rather than the decoder's byte values.
fn base64_problem(error: &base64::DecodeError) -> String {
    use base64::DecodeError;
    let shown = |byte: u8| escape_name(&char::from(byte).to_string()).into_owned();
    match *error {
        DecodeError::InvalidByte(offset, b'=') => {
            format!(
                "\"=\" at character {} is padding before the end",
                offset + 1
            )
        }
        DecodeError::InvalidByte(offset, byte) => format!(
            "\"{}\" at character {} is not a base64 character",
            shown(byte),
            offset + 1
        ),
        DecodeError::InvalidLength(_) => {
            "the text stops in the middle of a group of four characters".to_owned()
        }
        DecodeError::InvalidLastSymbol(offset, byte) => format!(
            "\"{}\" at character {} cannot end base64 text (is it cut short?)",
            shown(byte),
            offset + 1
        ),
        DecodeError::InvalidPadding => {
            "the \"=\" padding at the end is missing or wrong".to_owned()
        }
    }
}

/// Hex sha256 of the text.
fn sha256(text: Cow<'_, str>, _: Kwargs, _: &State<'_>) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A short hash of any value, independent of map key order, for names that change exactly
/// when the content changes: `name: {{ release.name }}-config-{{ values.routes | content_hash }}`.
fn content_hash(value: Value, kwargs: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let length = kwargs
        .get::<usize>("length")?
        .unwrap_or(CONTENT_HASH_LEN)
        .clamp(1, 64);
    let json: serde_json::Value =
        serde_json::to_value(&value).map_err(|e| Error::message(format!("content_hash: {e}")))?;
    let canonical = canonical_json(&json);
    let mut digest = hex(&Sha256::digest(canonical.as_bytes()));
    digest.truncate(length);
    Ok(digest)
}

/// Helm's `trunc`: the first `length` characters, or with a negative length the last ones.
fn trunc(text: Cow<'_, str>, kwargs: Kwargs, _: &State<'_>) -> TeraResult<String> {
    let length = kwargs.must_get::<i64>("length")?;
    let chars: Vec<char> = text.chars().collect();
    let keep = usize::try_from(length.unsigned_abs())
        .unwrap_or(usize::MAX)
        .min(chars.len());
    let kept = if length >= 0 {
        &chars[..keep]
    } else {
        &chars[chars.len() - keep..]
    };
    Ok(kept.iter().collect())
}

/// `{{ values.db.host | required(msg="db.host is required") }}`
fn required_filter(value: Value, kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    require(value, &kwargs)
}

/// `{{ required(value=values.db.host, msg="db.host is required") }}`
fn required_function(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let value = kwargs
        .get::<Value>("value")?
        .unwrap_or_else(Value::undefined);
    require(value, &kwargs)
}

/// A value is missing when it is undefined, null or an empty string, as in Helm.
fn require(value: Value, kwargs: &Kwargs) -> TeraResult<Value> {
    let missing = value.is_undefined() || value.is_none() || value.as_str() == Some("");
    if !missing {
        return Ok(value);
    }
    let msg = kwargs
        .get::<String>("msg")?
        .unwrap_or_else(|| "a required value is missing".to_string());
    Err(Error::message(msg))
}

/// `{{ fail(msg="ingress.tls needs ingress.host") }}` stops rendering with that message.
fn fail(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let msg = kwargs.must_get::<String>("msg")?;
    Err(Error::message(msg))
}

/// The text a scalar stands for: strings as they are, everything else as Tera prints it.
fn scalar_text(value: &Value) -> Cow<'_, str> {
    match value.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(value.to_string()),
    }
}

/// JSON with map keys sorted at every level, so equal data always hashes the same.
fn canonical_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tera::Context;

    fn render(template: &str, values: serde_json::Value) -> Result<String, String> {
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        register(&mut tera);
        tera.add_raw_template("t", template)
            .map_err(|e| e.to_string())?;
        let mut context = Context::new();
        context.insert("values", &values);
        tera.render("t", &context).map_err(|e| e.to_string())
    }

    fn ok(template: &str, values: serde_json::Value) -> String {
        render(template, values).unwrap()
    }

    #[test]
    fn to_yaml_renders_nested_maps_and_lists() {
        let values = serde_json::json!({"r": {"limits": {"cpu": "500m"}, "ports": [80, 443]}});
        assert_eq!(
            ok("{{ values.r | to_yaml }}", values),
            "limits:\n  cpu: 500m\nports:\n- 80\n- 443"
        );
    }

    #[test]
    fn to_yaml_quotes_strings_yaml_1_1_would_misread() {
        for word in ["yes", "on", "no", "0755", "1e3", "null"] {
            let values = serde_json::json!({ "v": word });
            assert_eq!(
                ok("{{ values | to_yaml }}", values),
                format!("v: \"{word}\"")
            );
        }
    }

    #[test]
    fn to_yaml_keeps_integers_integers() {
        let values = serde_json::json!({"replicas": 1000000});
        assert_eq!(ok("{{ values | to_yaml }}", values), "replicas: 1000000");
    }

    #[test]
    fn to_json_is_compact_or_pretty() {
        let values = serde_json::json!({"a": [1, "b"]});
        assert_eq!(
            ok("{{ values | to_json }}", values.clone()),
            r#"{"a":[1,"b"]}"#
        );
        assert_eq!(
            ok("{{ values | to_json(pretty=true) }}", values),
            "{\n  \"a\": [\n    1,\n    \"b\"\n  ]\n}"
        );
    }

    #[test]
    fn indent_indents_every_line_and_nindent_starts_a_new_line() {
        let values = serde_json::json!({"t": "a: 1\n\nb: 2"});
        assert_eq!(
            ok("{{ values.t | indent(width=2) }}", values.clone()),
            "  a: 1\n\n  b: 2"
        );
        assert_eq!(
            ok("x:{{ values.t | nindent(width=2) }}", values),
            "x:\n  a: 1\n\n  b: 2"
        );
    }

    #[test]
    fn quote_and_squote_escape() {
        let values = serde_json::json!({"s": "say \"hi\"", "n": 3, "q": "it's", "l": "a\tb\n\\", "p": "plain"});
        assert_eq!(
            ok("{{ values.s | quote }}", values.clone()),
            r#""say \"hi\"""#
        );
        assert_eq!(
            ok("{{ values.l | quote }}", values.clone()),
            r#""a\tb\n\\""#
        );
        assert_eq!(ok("{{ values.p | quote }}", values.clone()), r#""plain""#);
        assert_eq!(ok("{{ values.n | quote }}", values.clone()), r#""3""#);
        assert_eq!(ok("{{ values.q | squote }}", values), "'it''s'");
    }

    #[test]
    fn b64_round_trips_and_rejects_garbage() {
        let values = serde_json::json!({"p": "s3cret"});
        assert_eq!(ok("{{ values.p | b64enc }}", values.clone()), "czNjcmV0");
        assert_eq!(
            ok("{{ values.p | b64enc | b64dec }}", values.clone()),
            "s3cret"
        );
        let err = render("{{ values.p | b64dec }}", serde_json::json!({"p": "ab%d"})).unwrap_err();
        assert!(
            err.contains(
                "b64dec: not valid base64: \"%\" at character 3 is not a base64 character"
            ),
            "{err}"
        );
        let err = render(
            "{{ values.p | b64dec }}",
            serde_json::json!({"p": "czNjcmV"}),
        )
        .unwrap_err();
        assert!(
            err.contains(
                "b64dec: not valid base64: the \"=\" padding at the end is missing or wrong"
            ),
            "{err}"
        );
    }

    #[test]
    fn sha256_is_hex_of_the_text() {
        assert_eq!(
            ok("{{ 'abc' | sha256 }}", serde_json::json!({})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_hash_ignores_key_order_and_follows_content() {
        let a = ok(
            "{{ values | content_hash }}",
            serde_json::json!({"x": 1, "y": [1, 2]}),
        );
        let b = ok(
            "{{ values | content_hash }}",
            serde_json::json!({"y": [1, 2], "x": 1}),
        );
        let c = ok(
            "{{ values | content_hash }}",
            serde_json::json!({"x": 2, "y": [1, 2]}),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 10);
        assert!(a.chars().all(|ch| ch.is_ascii_hexdigit()));
        let short = ok(
            "{{ values | content_hash(length=6) }}",
            serde_json::json!({"x": 1}),
        );
        assert_eq!(short.len(), 6);
    }

    /// Names in released clusters carry these hashes (`web-config-aa996729eb`): a change
    /// to how a value is hashed would rename every such object on the next upgrade. The
    /// answers are `printf '%s' '<canonical JSON>' | sha256sum`.
    #[test]
    fn content_hash_known_answers() {
        let hash = |template: &str, values: serde_json::Value| ok(template, values);
        // Keys sorted at every level, compact, integers as integers.
        assert_eq!(
            hash(
                "{{ values | content_hash }}",
                serde_json::json!({"y": [1, 2], "x": 1})
            ),
            "aa996729eb"
        );
        assert_eq!(
            hash(
                "{{ values | content_hash(length=64) }}",
                serde_json::json!({"b": {"d": 1, "c": 2}, "a": "z"})
            ),
            "24a112075b78e76976ab928424eabfd4f13e83c73757169e5b147d082aea2020"
        );
        // A string is hashed as its JSON, quotes included.
        assert_eq!(
            hash(
                "{{ 'abc' | content_hash(length=12) }}",
                serde_json::json!({})
            ),
            "6cc43f858fbb"
        );
    }

    #[test]
    fn trunc_keeps_the_start_or_the_end() {
        let values = serde_json::json!({"s": "abcdef"});
        assert_eq!(
            ok("{{ values.s | trunc(length=3) }}", values.clone()),
            "abc"
        );
        assert_eq!(
            ok("{{ values.s | trunc(length=-2) }}", values.clone()),
            "ef"
        );
        assert_eq!(ok("{{ values.s | trunc(length=63) }}", values), "abcdef");
    }

    #[test]
    fn lower_upper_and_default_are_tera_builtins_that_still_work() {
        let values = serde_json::json!({"s": "MiXed"});
        assert_eq!(
            ok(
                "{{ values.s | lower }}-{{ values.s | upper }}",
                values.clone()
            ),
            "mixed-MIXED"
        );
        assert_eq!(ok("{{ values.missing | default(value='d') }}", values), "d");
    }

    #[test]
    fn required_passes_values_through_and_fails_with_the_message() {
        let values = serde_json::json!({"host": "db", "empty": ""});
        assert_eq!(
            ok(
                "{{ values.host | required(msg='need host') }}",
                values.clone()
            ),
            "db"
        );
        assert_eq!(
            ok(
                "{{ required(value=values.host, msg='need host') }}",
                values.clone()
            ),
            "db"
        );
        for template in [
            "{{ values.port | required(msg='db.port is required') }}",
            "{{ required(value=values.port, msg='db.port is required') }}",
            "{{ values.empty | required(msg='db.port is required') }}",
        ] {
            let err = render(template, values.clone()).unwrap_err();
            assert!(err.contains("db.port is required"), "{err}");
            assert!(
                err.contains("--> t:1:"),
                "error should point at the call: {err}"
            );
        }
    }

    #[test]
    fn fail_stops_with_the_message() {
        let err = render("a{{ fail(msg='tls needs a host') }}", serde_json::json!({})).unwrap_err();
        assert!(err.contains("tls needs a host"), "{err}");
    }
}
