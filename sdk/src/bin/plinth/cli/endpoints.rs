//! `plinth endpoints [NAME]`.

use super::client::encode;
use super::{CliError, Client, ClientArgs, print_json, print_list, table, text};

pub(crate) async fn run(name: Option<String>, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    let Some(name) = name else {
        print_list(&client.get("/v1/endpoints").await?.json()?, args.json);
        return Ok(());
    };
    let value = client
        .get(&format!("/v1/endpoints/{}", encode(&name)))
        .await?
        .json()?;
    if args.json {
        print_json(&value);
        return Ok(());
    }
    let dns: Vec<String> = value["dns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let address: Vec<String> = value["address"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let rows: Vec<Vec<String>> = address
        .iter()
        .zip(dns.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(a, d)| vec![a.clone(), d.cloned().unwrap_or_default()])
        .collect();
    println!("{}", table(&["ADDRESS", "DNS"], &rows));
    if let Some(vip) = value["vip"].as_str() {
        println!("vip: {vip}");
    }
    Ok(())
}
