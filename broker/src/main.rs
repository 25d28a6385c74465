//! carport-broker: a local stand-in for a Curio storage provider's Market 2.0 (mk20) API, for
//! local runs and tests of carport's deal making.
//!
//! Only the chain is simulated. A deal is authenticated (CurioAuth) and validated as Curio
//! does, then really processed: the aggregate is pulled from the deal's HTTP source, streamed to
//! `DIR/aggregates/{piece CID}`, its piece commitment computed and compared with the deal's
//! piece CID, and the sub-pieces checked against the aggregate's data segment index. Sealing and
//! the on-chain deal are a clock: each stage lasts `--stage-ms`, and a completed deal gets the
//! next deal ID. Every deal is kept in `DIR/deals/` and picked up again after a restart.
//!
//! Routes: `POST /market/mk20/deal`, `GET /market/mk20/status/{id}` (as Curio), and for tests
//! `POST /_broker/faults` (`{"fail_next": N}`, `{"reject_next": N}`, `{"lie_next": N}`: complete
//! without pulling the aggregate; and the retrieval faults of `retrieval.rs`) and
//! `GET /_broker/deals`. Retrieval as a Curio node serves it: `GET|HEAD /piece/{piece CID}` for
//! each verified aggregate and each of its sub-pieces.

mod broker;
mod clock;
mod pull;
mod retrieval;
mod server;
mod stages;
mod store;
mod validate;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use carport_mk20::Network;
use clap::Parser;

use crate::broker::{Broker, Config};
use crate::store::Store;

/// Threads answering requests.
const HTTP_THREADS: usize = 4;

/// A local deal broker speaking Curio's mk20 HTTP API. Only the chain is simulated: the
/// aggregate's bytes are really pulled and their piece commitment really computed and checked;
/// sealing and the chain deal are a clock (--stage-ms per stage).
#[derive(Parser, Debug)]
#[command(name = "carport-broker", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the line printed on start names it).
    #[arg(long)]
    listen: SocketAddr,
    /// Folder for deal records (deals/) and pulled aggregates (aggregates/); kept across restarts.
    #[arg(long)]
    data: PathBuf,
    /// Least milliseconds in each stage: accepted, processing (pull and check), sealing.
    #[arg(long, default_value_t = 2000)]
    stage_ms: u64,
    /// The provider's actor address: deals must name it; its f or t prefix sets the network.
    #[arg(long, default_value = "f01000")]
    provider: String,
    /// Comma-separated client addresses allowed to make deals (others get 401, as from Curio).
    #[arg(long, value_delimiter = ',')]
    allow: Option<Vec<String>>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("carport-broker: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let config = config(&args)?;
    let store = Store::open(&args.data).map_err(|e| e.to_string())?;
    let broker = Broker::new(config, store).map_err(|e| e.to_string())?;
    let server = Arc::new(
        tiny_http::Server::http(args.listen)
            .map_err(|e| format!("listening on {}: {e}", args.listen))?,
    );
    let addr = server.server_addr().to_ip().ok_or("the server has no IP address")?;

    let tick = Duration::from_millis((broker.config.stage_ms / 4).clamp(5, 100));
    let driver = Arc::clone(&broker);
    thread::spawn(move || loop {
        driver.tick(clock::now_ms());
        thread::sleep(tick);
    });

    let workers: Vec<_> = (0..HTTP_THREADS)
        .map(|_| {
            let (server, broker) = (Arc::clone(&server), Arc::clone(&broker));
            thread::spawn(move || server::serve(&server, &broker))
        })
        .collect();
    println!("carport-broker listening on http://{addr}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    for worker in workers {
        worker.join().map_err(|_| "a request thread panicked")?;
    }
    Err("the server stopped".to_string())
}

/// The configuration, with the addresses checked against one another.
fn config(args: &Args) -> Result<Config, String> {
    let network =
        Network::of_address(&args.provider).filter(|_| is_id_address(&args.provider)).ok_or_else(
            || format!("--provider {:?} is not an actor ID address such as f01000", args.provider),
        )?;
    if let Some(other) =
        args.allow.iter().flatten().find(|a| Network::of_address(a) != Some(network))
    {
        return Err(format!("--allow {other:?} is not an address of the provider's network"));
    }
    Ok(Config {
        provider: args.provider.clone(),
        network,
        allow: args.allow.clone(),
        stage_ms: args.stage_ms,
    })
}

/// `f0…` or `t0…` followed by digits.
fn is_id_address(address: &str) -> bool {
    address.len() > 2
        && address.as_bytes()[1] == b'0'
        && address[2..].bytes().all(|b| b.is_ascii_digit())
}
