//! A local rate-limited messaging API (placeholder until the sandbox issue lands).

use clap::Args;

/// `outreach sandbox` options.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {}

/// Run the sandbox from the command line.
pub async fn run_cli(_args: SandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("the sandbox is not built yet")
}
