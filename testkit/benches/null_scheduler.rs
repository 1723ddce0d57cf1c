//! How many offers and launches per second the testkit master sustains with
//! a null scheduler: it accepts every offer with one tiny task (and
//! acknowledges every update), against 1,000 simulated agents.
//!
//! `cargo bench -p plinth-testkit --bench null_scheduler` prints the figures.
//! `PLINTH_BENCH_SECS` sets the measured time (default 5 s),
//! `PLINTH_BENCH_AGENTS` the number of agents (default 1000).

mod common;

use common::{env_or, null_scheduler};

async fn run() -> anyhow::Result<()> {
    let secs: f64 = env_or("PLINTH_BENCH_SECS", 5.0);
    let agents: usize = env_or("PLINTH_BENCH_AGENTS", 1000);
    let master = common::master(agents).await?;
    let run = null_scheduler(&master, secs, None).await?;
    let elapsed = run.elapsed;
    let (before, after) = (&run.before, &run.after);
    let offers_made = run.offers();
    let launched = run.launched();
    let updates = after.updates_sent - before.updates_sent;
    let acks = after.acks - before.acks;
    println!(
        "null scheduler, {agents} simulated agents, {elapsed:.1} s (protobuf, 32 calls in flight):"
    );
    println!(
        "  offers made:      {offers_made:>8}  ({:.0} offers/s)",
        offers_made as f64 / elapsed
    );
    println!(
        "  tasks launched:   {launched:>8}  ({:.0} launches/s)",
        launched as f64 / elapsed
    );
    println!(
        "  updates sent:     {updates:>8}  ({:.0} updates/s)",
        updates as f64 / elapsed
    );
    println!(
        "  acks processed:   {acks:>8}  ({:.0} acks/s)",
        acks as f64 / elapsed
    );
    println!(
        "  (scheduler side: {} offers received, {} ACCEPTs answered 202)",
        run.offers_received, run.accepted
    );
    master.shutdown().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo test --benches` runs this with `--bench`-less arguments; stay quick then.
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
