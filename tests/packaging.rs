//! packaging/: the systemd unit passes `systemd-analyze verify` (with
//! ExecStart pointed at the binary this build made), and the udev rule
//! names the cable as the unit expects. Skipped, with a message, where
//! systemd-analyze is not installed.

use std::path::Path;
use std::process::Command;

fn packaging(name: &str) -> String {
    let path = format!("{}/packaging/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = packaging("dsmr-exporter.service");
    for want in [
        "User=dsmr-exporter",
        "SupplementaryGroups=dialout",
        "EnvironmentFile=-/etc/default/dsmr-exporter",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "DeviceAllow=char-ttyUSB rw",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ] {
        assert!(unit.lines().any(|l| l == want), "{want} missing");
    }
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(analyze) = analyze else {
        println!("SKIPPED: systemd-analyze is not installed; the unit was not verified");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("dsmr-unit-")
        .tempdir()
        .expect("temp dir");
    let file = dir.path().join("dsmr-exporter.service");
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/dsmr-exporter",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_dsmr-exporter")),
    );
    std::fs::write(&file, unit).expect("write unit");
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&file)
        .output()
        .expect("run systemd-analyze");
    drop(dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    // Warnings about this unit (not about the host's other units) fail too.
    assert!(
        !stderr.contains("dsmr-exporter.service:"),
        "systemd-analyze verify: {stderr}"
    );
}

#[test]
fn the_udev_rule_names_the_cable_p1_for_dialout() {
    let rule = packaging("99-p1-cable.rules");
    let line = rule
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .expect("a rule");
    for want in [
        "SUBSYSTEM==\"tty\"",
        "ATTRS{idVendor}==\"0403\"",
        "ATTRS{idProduct}==\"6001\"",
        "ATTRS{serial}==",
        "SYMLINK+=\"p1\"",
        "MODE=\"0660\"",
        "GROUP=\"dialout\"",
    ] {
        assert!(line.contains(want), "{want} missing in {line}");
    }
}
