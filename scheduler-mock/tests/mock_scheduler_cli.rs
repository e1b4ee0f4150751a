//! The mock-scheduler binary starts and answers --help (this test also
//! makes `cargo test` build it for the end-to-end test).

#[test]
fn mock_scheduler_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-scheduler"))
        .arg("--help")
        .output()
        .expect("run mock-scheduler");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--replicas"));
}
