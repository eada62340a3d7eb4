//! `yamux-perf unified`: the entry point of the image for libp2p/unified-testing's perf harness
//! (configured by environment variables: see [`yamux_perf::unified`]).

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::identity;
use yamux_perf::unified::{self, Role, UnifiedConfig};
use yamux_perf::upgrade::ConnectionConfig;

use super::common::{bad_input, seconds};

#[derive(Debug, Args)]
pub(crate) struct UnifiedOpt {
    /// How long the dialer waits for the listener's address in Redis, and either role for
    /// Redis itself, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) redis_wait: f64,
}

/// Whether `DEBUG=true` asks for debug logs (read before logging starts; a bad value is
/// reported by [`run`]).
pub(crate) fn debug_requested() -> bool {
    std::env::var("DEBUG").is_ok_and(|v| v == "true")
}

async fn terminated() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

pub(crate) async fn run(opt: UnifiedOpt) -> Result<()> {
    let config = UnifiedConfig::from_env(|name| std::env::var(name).ok())
        .map_err(|e| bad_input("unified-testing environment", e))?;
    let wait = seconds(opt.redis_wait, "--redis-wait")?;
    tracing::info!(
        transport = %config.transport,
        security = %config.security,
        test_key = %config.test_key,
        redis = %config.redis_addr,
        "unified-testing perf, {}",
        if matches!(config.role, Role::Dialer(_)) { "dialer" } else { "listener" }
    );
    let connection = ConnectionConfig::new(identity::generate());
    match &config.role {
        Role::Listener { ip } => {
            unified::listen(&config, *ip, connection, wait, terminated())
                .await
                .context("listener")?;
        }
        Role::Dialer(plan) => {
            let yaml = unified::dial(&config, plan, connection, wait)
                .await
                .context("dialer")?;
            let mut stdout = std::io::stdout();
            stdout.write_all(yaml.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}
