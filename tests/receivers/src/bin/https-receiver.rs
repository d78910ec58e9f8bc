//! The HTTPS test receiver as a process of its own, for manual runs and tools outside Rust tests:
//! prints `listening <url>` and the CA's path, then serves until interrupted. It owns the command
//! line only; it must never be installed with the daemon.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use receivers::{HttpsReceiver, ReceiverConfig};

/// A test HTTPS receiver for dockd's batched upload (faults: POST /control).
#[derive(Parser)]
struct Args {
    /// Folder for ca.pem, receiver.db and port.
    #[arg(long)]
    dir: PathBuf,
    /// The bearer token requests must carry.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// A file holding the bearer token (trailing whitespace ignored).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The path batches are posted to.
    #[arg(long, default_value = "/ingest")]
    path: String,
    /// The loopback port (0: any free one; see the `port` file).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let token = match (args.token, args.token_file) {
        (Some(token), _) => token,
        (None, Some(file)) => std::fs::read_to_string(&file)
            .with_context(|| format!("Cannot read the token file {}.", file.display()))?
            .trim_end()
            .to_owned(),
        (None, None) => anyhow::bail!("Give --token or --token-file."),
    };
    let mut config = ReceiverConfig::new(args.dir, token);
    config.path = args.path;
    config.port = args.port;
    let receiver = HttpsReceiver::start(config).await?;
    println!("listening {}", receiver.url);
    println!("ca {}", receiver.ca.ca_pem_path.display());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
