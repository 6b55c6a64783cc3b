//! Any text as a `--config` TOML file, through the exporter's own
//! `config_file::parse` (the function `--config` calls with the file's
//! text). Checked beyond "no panic":
//! - an error is one line, names the file, and its line:column lies inside
//!   the text (line <= lines + 1, column <= that line's characters + 1);
//! - a success has at least one meter and unique meter names.
//!
//! Smarty key files are read while parsing, relative to the config file's
//! folder, which here does not exist; inputs giving a `*key_file` an
//! absolute path are skipped so that the fuzzer cannot make the exporter
//! block on a FIFO or a terminal. (A key file is read at most 4 KiB deep, so
//! `/dev/zero` would only be an error.) The text is parsed as TOML for that
//! check only when it could name a key file by an absolute path: `key_file`
//! and a `/` written plainly, or a `\u` escape (which can spell either), so
//! most runs parse once. Replay files are read later, not here.
#![no_main]

use dsmr_exporter::cli::config_file;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::path::Path;

const PATH: &str = "/nonexistent-dsmr-fuzz/dsmr-exporter.toml";

fn absolute_key_file(v: &toml::Value) -> bool {
    match v {
        toml::Value::Array(a) => a.iter().any(absolute_key_file),
        toml::Value::Table(t) => t.iter().any(|(k, v)| {
            let absolute = v.as_str().is_some_and(|s| s.starts_with('/'));
            (k.ends_with("key_file") && absolute) || absolute_key_file(v)
        }),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // toml::Value parses what the exporter's tables accept (and more): a
    // text it refuses is refused by the exporter too, without reading files.
    let escaped = text.contains("\\u") || text.contains("\\U");
    if (escaped || text.contains("key_file")) && (escaped || text.contains('/')) {
        if let Ok(v) = text.parse::<toml::Table>() {
            if absolute_key_file(&toml::Value::Table(v)) {
                return;
            }
        }
    }
    match config_file::parse(text, Path::new(PATH)) {
        Ok(a) => {
            assert!(!a.meters.is_empty(), "accepted a file without a meter");
            let mut names = HashSet::new();
            for m in &a.meters {
                assert!(
                    names.insert(m.name.as_str()),
                    "duplicate meter name accepted"
                );
            }
        }
        Err(a) => {
            let shown = a.to_string();
            assert!(
                !shown.contains('\n'),
                "error on more than one line: {shown:?}"
            );
            assert!(
                shown.starts_with(PATH),
                "error does not name the file: {shown:?}"
            );
            let lines: Vec<&str> = text.split('\n').collect();
            assert!(
                a.line >= 1 && a.line <= lines.len(),
                "line {} of {}",
                a.line,
                lines.len()
            );
            let chars = lines[a.line - 1].chars().count();
            assert!(
                a.column >= 1 && a.column <= chars + 1,
                "column {} of {chars}",
                a.column
            );
        }
    }
});
