//! Generates the Rust types and gRPC stubs from `proto/*.proto`.
//!
//! The .proto files are compiled by `protox`, a pure-Rust protobuf compiler,
//! so no system `protoc` is needed.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "eraftpb.proto",
    "metapb.proto",
    "errorpb.proto",
    "raft_cmdpb.proto",
    "raft_serverpb.proto",
    "schedulerpb.proto",
    "kvrpcpb.proto",
    "coprocessor.proto",
    "tinykvpb.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let files: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
