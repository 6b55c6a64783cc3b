//! `--check-config` opens every file a start would open and fails exactly
//! when a start would: replay files, Smarty key files, the `--config` file,
//! the web config file and the certificate, key and client CA it names.
//! Each bad case is run both ways and must fail with the same exit code
//! and the same message.

mod common;
use common::bin::{cmd, run, text};
use common::{fixture_path, TempDir};
use std::path::Path;
use std::process::Command;

/// A certificate, its key and a CA file in `dir`, and a web config naming
/// them (relative to its folder); returns the config's path.
fn web_config(dir: &TempDir, cert: &str, key: &str, ca: &str) -> std::path::PathBuf {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    dir.write("server.crt", ck.cert.pem());
    dir.write("server.key", ck.signing_key.serialize_pem());
    dir.write("ca.crt", ck.cert.pem());
    let hash = bcrypt::hash("s3cret", 4).expect("hash");
    dir.write(
        "web.yml",
        format!(
            "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
}

/// Runs `args` with `--check-config` and as a start; both must fail alike,
/// with `needle` in the message. Returns the exit code.
fn fails_alike(args: &[&std::ffi::OsStr], needle: &str) -> i32 {
    let with = |extra: &[&str]| {
        let mut c: Command = cmd();
        c.args(args)
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(extra);
        run(&mut c)
    };
    let check = with(&["--check-config"]);
    let start = with(&[]);
    let (check_err, start_err) = (text(&check.stderr), text(&start.stderr));
    assert!(!check.status.success(), "--check-config passed: {args:?}");
    assert_eq!(
        check.status.code(),
        start.status.code(),
        "{check_err} / {start_err}"
    );
    assert!(check_err.contains(needle), "{needle:?} not in {check_err}");
    assert_eq!(check_err, start_err);
    assert!(text(&check.stdout).is_empty(), "nothing printed on failure");
    check.status.code().unwrap_or(-1)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn a_missing_or_unreadable_replay_file_fails_the_check() {
    let dir = TempDir::new("check-replay");
    let missing = dir.0.join("missing.txt");
    let code = fails_alike(
        &[os("--replay"), missing.as_os_str()],
        "cannot read replay file",
    );
    assert_eq!(code, 1);
    // A directory opens but cannot be read, whoever runs the test.
    fails_alike(
        &[os("--replay"), dir.0.as_os_str()],
        "cannot read replay file",
    );
    let noise = dir.write("noise.txt", "no telegram here\r\n");
    fails_alike(
        &[os("--replay"), noise.as_os_str()],
        "holds no complete telegram",
    );
}

#[test]
fn a_replay_file_named_in_a_config_file_is_opened() {
    let dir = TempDir::new("check-config-replay");
    dir.write("noise.txt", "no telegram here\r\n");
    let file = dir.write(
        "dsmr.toml",
        "[[meter]]\nname = \"a\"\nreplay = { file = \"noise.txt\" }\n",
    );
    fails_alike(
        &[os("--config"), file.as_os_str()],
        "noise.txt holds no complete telegram",
    );
}

#[test]
fn a_missing_smarty_key_file_fails_the_check() {
    let dir = TempDir::new("check-smarty");
    let missing = dir.0.join("smarty.key");
    fails_alike(
        &[
            os("--tcp"),
            os("127.0.0.1:1"),
            os("--smarty-key-file"),
            missing.as_os_str(),
        ],
        "smarty.key",
    );
    let bad = dir.write("short.key", "0123\n");
    fails_alike(
        &[
            os("--tcp"),
            os("127.0.0.1:1"),
            os("--smarty-key-file"),
            bad.as_os_str(),
        ],
        "short.key",
    );
}

#[test]
fn the_web_config_file_and_every_file_it_names_are_opened() {
    let dir = TempDir::new("check-web");
    let replay = fixture_path("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let base = |web: &Path| {
        vec![
            os("--replay").to_owned(),
            replay.as_os_str().to_owned(),
            os("--web.config.file").to_owned(),
            web.as_os_str().to_owned(),
        ]
    };
    let check = |web: &Path, needle: &str| {
        let args = base(web);
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        fails_alike(&refs, needle)
    };
    check(&dir.0.join("missing.yml"), "missing.yml");
    check(dir.0.as_path(), &dir.0.display().to_string());
    check(
        &web_config(&dir, "nope.crt", "server.key", "ca.crt"),
        "nope.crt",
    );
    check(
        &web_config(&dir, "server.crt", "nope.key", "ca.crt"),
        "nope.key",
    );
    check(
        &web_config(&dir, "server.crt", "server.key", "nope-ca.crt"),
        "nope-ca.crt",
    );
    // A key file that is not a key.
    let web = web_config(&dir, "server.crt", "ca.crt", "ca.crt");
    check(&web, "ca.crt");

    // And all of them present: the check passes and prints the configuration.
    let web = web_config(&dir, "server.crt", "server.key", "ca.crt");
    let args = base(&web);
    let out = run(cmd().args(&args).arg("--check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("replay"), "{printed}");
}
