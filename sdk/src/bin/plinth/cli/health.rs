//! `plinth health`: the service status code and what it means; exit 0 only
//! when the service is running (200).

use http::Method;

use super::{CliError, Client, ClientArgs, print_json, text};

/// dcos-commons' meaning of a health code.
fn meaning(code: u16) -> &'static str {
    match code {
        200 => "running",
        202 => "deploying (starting)",
        203 => "recovering (pending)",
        204 => "deploying (pending)",
        205 => "recovering (starting)",
        207 => "deploying (waiting for the operator)",
        208 => "deploying (delayed)",
        318 => "initializing",
        320 => "backing up",
        321 => "restoring",
        500 => "error creating the service",
        503 => "unavailable",
        _ => "unknown",
    }
}

pub(crate) async fn run(args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    let reply = client
        .send(Method::GET, "/v1/health?verbose=true", None)
        .await?;
    let value = reply.json().map_err(|_| reply.error())?;
    let Some(code) = value.get("value").and_then(serde_json::Value::as_u64) else {
        return Err(reply.error());
    };
    let code = u16::try_from(code).unwrap_or(0);
    if args.json {
        print_json(&value);
    } else {
        println!("{code} {}", meaning(code));
        for reason in value["reasons"].as_array().into_iter().flatten() {
            println!("  {}", text(reason));
        }
    }
    if code == 200 {
        Ok(())
    } else {
        Err(CliError::BadResponse(format!(
            "the service is not running: {code} {}",
            meaning(code)
        )))
    }
}
