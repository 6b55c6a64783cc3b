//! Beyond one machine: `scripts/scale-out.sh` runs six exporters behind two
//! Prometheus agents that split them by `hashmod` and remote-write to one
//! central Prometheus, and checks there that every meter's series arrived
//! exactly once. By hand (needs Debian's `prometheus`; about 10 s):
//! `cargo test --release --test scale_out -- --ignored`.

use std::process::Command;

#[test]
#[ignore = "by hand: needs prometheus; runs scripts/scale-out.sh (about 10 s)"]
fn two_agents_split_the_exporters_and_the_central_server_gets_each_meter_once() {
    let out = Command::new("bash")
        .arg("scripts/scale-out.sh")
        .arg(env!("CARGO_BIN_EXE_dsmr-exporter"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run bash scripts/scale-out.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "scale-out failed:\n{text}");
    assert!(
        text.contains("30 meters from 6 exporters, each exactly once"),
        "{text}"
    );
}
