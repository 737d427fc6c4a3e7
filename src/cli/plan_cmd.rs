//! `outreach plan`: load, validate, schedule, print; with `--state`, also
//! what `send` would do with that journal. Nothing is sent or written.

use std::io::{self, BufWriter, Write};

use anyhow::Context;

use super::args::{CampaignArgs, PlanArgs, PlanOutputArgs};
use crate::campaign::Campaign;
use crate::exit_codes;
use crate::options;
use crate::output::schedule::{self as plan_output, PlanFormat};
use crate::plan::Slot;

/// Load and validate the campaign the flags describe, printing warnings.
pub fn load_campaign(args: &CampaignArgs) -> anyhow::Result<Campaign> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let local = options::LocalZone::detect();
    let spec = options::resolve(&args.flags(), chrono::Utc::now(), &cwd, local.zone)?;
    if spec.timezone_source == options::ZoneSource::Local
        && let Some(warning) = local.warning()
    {
        say!("{warning}");
    }
    let campaign = Campaign::load(spec)?;
    for duplicate in &campaign.duplicates {
        say!(
            "warning: {}:{}: recipient `{}` is also on line {}; it is planned once",
            campaign.spec.csv.display(),
            duplicate.line,
            duplicate.recipient,
            duplicate.first_line
        );
    }
    Ok(campaign)
}

/// Print a plan in the chosen format.
pub fn print_plan(
    campaign: &Campaign,
    slots: &[Slot],
    output: &PlanOutputArgs,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let format = output.format();
    let result = match format {
        PlanFormat::Table => {
            plan_output::write_table(&mut out, campaign, slots, output.row_limit())
        }
        PlanFormat::Csv => plan_output::write_csv(&mut out, campaign, slots),
        PlanFormat::Json => plan_output::write_json(&mut out, campaign, slots),
    };
    if let Err(error) = result.and_then(|()| out.flush()) {
        if crate::console::is_closed_pipe(&error) {
            // `| head` has what it wanted: no summary after the data.
            return Ok(());
        }
        return Err(error).context("cannot write the plan");
    }
    if format != PlanFormat::Table {
        let mut summary = Vec::new();
        plan_output::write_summary(&mut summary, campaign, slots)?;
        crate::console::bytes(&summary);
    }
    Ok(())
}

pub fn run(args: PlanArgs) -> anyhow::Result<i32> {
    let campaign = load_campaign(&args.campaign)?;
    let slots = campaign.plan();
    print_plan(&campaign, &slots, &args.output)?;
    match &args.state {
        // The journal `send --state` would use, checked as `send --dry-run` does.
        Some(state) => check_journal(
            &crate::state::location::for_send(
                Some(state),
                args.campaign_name.as_deref(),
                &args.campaign.csv,
            )?,
            false,
            &campaign,
        ),
        None => Ok(exit_codes::SUCCESS),
    }
}

/// What `send` would do with the journal at `state` (read only), said on
/// stderr; returns the code `send` would exit with before sending.
pub fn check_journal(
    state: &crate::state::location::Location,
    restart: bool,
    campaign: &Campaign,
) -> anyhow::Result<i32> {
    let verdict = crate::state::preflight::check(state, restart, campaign, chrono::Utc::now())?;
    say!("{}", verdict.text());
    Ok(verdict.exit_code())
}
