//! Any text as a `--web.config.file` (exporter-toolkit YAML), through
//! `WebConfig::check_yaml`: the pure stage of reading the file, which
//! checks the YAML, its keys, the bcrypt hash format, the headers and the
//! TLS settings without reading a certificate or running bcrypt (that is
//! `CheckedWebConfig::load`, not fuzzed). Nothing is set up per run, so it
//! runs at the parser's speed (the file is parsed once; the tree below is
//! built only for texts that were accepted). Checked beyond "no panic":
//! - every error names the file;
//! - a success has basic auth exactly when the YAML has a non-empty
//!   `basic_auth_users` mapping, TLS exactly when it has a
//!   `tls_server_config` that is not null, and headers only when
//!   `http_server_config.headers` is a non-empty mapping;
//! - all-whitespace text is an empty file.
#![no_main]

use dsmr_exporter::http::WebConfig;
use libfuzzer_sys::fuzz_target;
use serde_yaml_ng::Value;
use std::path::Path;

const PATH: &str = "/nonexistent-dsmr-fuzz/web-config.yml";

/// `v` without its YAML tags (`!foo {...}`): the typed reading ignores a
/// tag on a mapping or a key, so the tree must too
/// (`regressions/webconfig/tagged-document`).
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

/// The value of `key` in mapping `v`, tags ignored on both sides.
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    untag(v)
        .as_mapping()?
        .iter()
        .find(|(k, _)| untag(k).as_str() == Some(key))
        .map(|(_, v)| untag(v))
}

/// True when `v` is a mapping with at least one entry.
fn non_empty_mapping(v: Option<&Value>) -> bool {
    v.and_then(Value::as_mapping).is_some_and(|m| !m.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(PATH);
    match WebConfig::check_yaml(text, path) {
        Ok(a) => {
            // Text that is all whitespace (Rust's, which includes U+000B and
            // U+2028, not all of it YAML's) is an empty file.
            let tree = serde_yaml_ng::from_str::<Value>(text);
            if let Err(e) = &tree {
                // The typed reading refuses a key written twice itself.
                let e = e.to_string();
                assert!(!e.contains("duplicate entry"), "a key twice accepted: {e}");
            }
            let Ok(v) = tree else {
                // The tree can fail where the typed reading does not: a
                // number too large for it (`0xaa22...`) where the file wants
                // a string (`regressions/webconfig/big-hex-number`). Then
                // only the empty file can be checked.
                if text.trim().is_empty() {
                    assert!(!a.has_basic_auth() && !a.has_tls() && a.headers().is_empty());
                }
                return;
            };
            assert_eq!(
                a.has_basic_auth(),
                non_empty_mapping(field(&v, "basic_auth_users")),
                "basic auth without users or the reverse"
            );
            assert_eq!(
                a.has_tls(),
                field(&v, "tls_server_config").is_some_and(|t| !t.is_null()),
                "TLS from nowhere, or lost"
            );
            if !a.headers().is_empty() {
                let headers = field(&v, "http_server_config").and_then(|h| field(h, "headers"));
                assert!(non_empty_mapping(headers), "headers from nowhere");
            }
        }
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains(PATH), "error does not name the file: {e:?}");
        }
    }
});
