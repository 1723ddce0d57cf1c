//! `plinth uninstall SERVICE`: ask a running scheduler to uninstall its
//! service (`POST /v1/uninstall`). The name must match the scheduler's
//! service: a guard against pointing `--url` at the wrong one.

use serde_json::json;

use super::{CliError, Client, ClientArgs, print_json};

pub(crate) async fn run(service: String, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    let value = client
        .post("/v1/uninstall", Some(&json!({ "service": service })))
        .await?
        .json()?;
    if args.json {
        print_json(&value);
    } else {
        println!("{}", value["message"].as_str().unwrap_or_default());
    }
    Ok(())
}
