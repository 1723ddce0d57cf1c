//! Compiles our Mesos v1 protos with protox (pure Rust, no system `protoc`)
//! and generates prost types from the resulting descriptor set.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");

    let fds = protox::compile(
        ["mesos/v1/scheduler/scheduler.proto", "mesos/v1/mesos.proto"],
        ["proto"],
    )?;

    // Kept for reflection (Mesos-style JSON) at run time.
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(out_dir.join("mesos_v1.fds"), fds.encode_to_vec())?;

    prost_build::Config::new()
        .btree_map(["."])
        // Large and rarely set: boxed, an unset one costs a pointer instead
        // of its whole size in every stored TaskInfo (a scheduler holds one
        // per task).
        .boxed(".mesos.v1.Resource.disk")
        .boxed(".mesos.v1.TaskInfo.executor")
        .boxed(".mesos.v1.TaskInfo.container")
        .boxed(".mesos.v1.TaskInfo.health_check")
        .boxed(".mesos.v1.TaskInfo.check")
        .boxed(".mesos.v1.TaskInfo.discovery")
        .boxed(".mesos.v1.TaskInfo.kill_policy")
        .boxed(".mesos.v1.Resource.reservation")
        .boxed(".mesos.v1.Environment.Variable.secret")
        .boxed(".mesos.v1.ExecutorInfo.container")
        .boxed(".mesos.v1.ExecutorInfo.discovery")
        .enable_type_names()
        .compile_fds(fds)?;
    Ok(())
}
