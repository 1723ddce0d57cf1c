//! Compiles the operator API protos (`api-proto/`) with protox (no system
//! `protoc`) and generates the tonic server and client code; the descriptor
//! set is kept for gRPC server reflection.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=api-proto");
    let fds = protox::compile(["plinth/operator/v1/operator.proto"], ["api-proto"])?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(
        out_dir.join("plinth_operator_v1.fds"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
