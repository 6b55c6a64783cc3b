//! Any text as a `--web.config.file` (exporter-toolkit YAML), through
//! `WebConfig::parse`, the text entry point `WebConfig::load` calls after
//! reading the file. Checked beyond "no panic":
//! - the same text gives the same result twice (`WebConfig`'s `PartialEq`,
//!   the error's text);
//! - every error names the file;
//! - a success has basic auth exactly when the YAML has a non-empty
//!   `basic_auth_users` mapping, and TLS only when it has
//!   `tls_server_config`.
//!
//! `WebConfig::parse` is not free of side effects, so some inputs are
//! skipped (see docs/development.md, Fuzzing):
//! - TLS certificate and key files are read relative to the file's folder,
//!   which here does not exist; inputs naming an absolute path are skipped;
//! - with `basic_auth_users` it hashes a dummy password at the highest
//!   bcrypt cost among the users (up to 31: hours), so inputs whose hashes
//!   have a cost of 4 or more are skipped. The YAML and hash-format checks
//!   still run for every other input.
#![no_main]

use dsmr_exporter::http::WebConfig;
use libfuzzer_sys::fuzz_target;
use serde_yaml_ng::Value;
use std::path::Path;

const PATH: &str = "/nonexistent-dsmr-fuzz/web-config.yml";

fn names_absolute_path(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('/') || s.contains(":\\"),
        Value::Sequence(a) => a.iter().any(names_absolute_path),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| names_absolute_path(k) || names_absolute_path(v)),
        Value::Tagged(t) => names_absolute_path(&t.value),
        _ => false,
    }
}

fn costly_hash(v: &Value) -> bool {
    let Some(users) = v.get("basic_auth_users").and_then(Value::as_mapping) else {
        return false;
    };
    users.values().any(|h| {
        h.as_str()
            .and_then(|h| h.parse::<bcrypt::HashParts>().ok())
            .is_some_and(|p| p.get_cost() >= 4)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tree = serde_yaml_ng::from_str::<Value>(text).ok();
    if let Some(v) = &tree {
        if names_absolute_path(v) || costly_hash(v) {
            return;
        }
    }
    let path = Path::new(PATH);
    let first = WebConfig::parse(text, path);
    let second = WebConfig::parse(text, path);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "not deterministic");
            // Text that is all whitespace (Rust's, which includes U+000B and
            // U+2028, not all of it YAML's) is an empty file.
            let Some(v) = tree.as_ref() else {
                assert!(text.trim().is_empty(), "accepted text that is not YAML");
                assert!(!a.has_basic_auth() && a.tls().is_none());
                return;
            };
            let users = v
                .get("basic_auth_users")
                .and_then(Value::as_mapping)
                .is_some_and(|m| !m.is_empty());
            assert_eq!(
                a.has_basic_auth(),
                users,
                "basic auth without users or the reverse"
            );
            if a.tls().is_some() {
                assert!(v.get("tls_server_config").is_some(), "TLS from nowhere");
            }
        }
        (Err(a), Err(b)) => {
            let (a, b) = (a.to_string(), b.to_string());
            assert_eq!(a, b, "not deterministic");
            assert!(a.contains(PATH), "error does not name the file: {a:?}");
        }
        _ => panic!("not deterministic: {first:?} then {second:?}"),
    }
});
