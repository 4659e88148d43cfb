//! `pi7 dispatch`: deliver pending deliveries, in an order you choose.

use super::pending::component_parser;
use super::progress::Progress;
use super::Context;
use crate::app::{self, Access, Handled, Order, Report};
use crate::domain::Component;
use crate::error::InputError;

/// Deliver pending deliveries, printing each as it is made
///
/// Deliveries that handling publishes join the pending set and are taken in
/// the same order, within the same filters and limit.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// In which order to take pending deliveries
    #[arg(long, value_enum, default_value_t = OrderArg::Fifo)]
    pub order: OrderArg,

    /// The seed of `--order random`; the same seed gives the same order
    /// [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,

    /// Only deliveries to this component
    #[arg(long = "to", value_name = "COMPONENT", value_parser = component_parser())]
    pub component: Option<Component>,

    /// Only deliveries of this process's events (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID", add = super::completions::any_id())]
    pub process: Option<String>,

    /// At most this many deliveries (1 or more)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub limit: Option<usize>,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("give 1 or more".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    /// Oldest delivery first
    Fifo,
    /// Newest delivery first
    Lifo,
    /// Uniformly at random, reproducible with --seed
    Random,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let order = match (args.order, args.seed) {
        (OrderArg::Fifo, None) => Order::Fifo,
        (OrderArg::Lifo, None) => Order::Lifo,
        (OrderArg::Random, seed) => Order::Random {
            seed: seed.unwrap_or(0),
        },
        (OrderArg::Fifo | OrderArg::Lifo, Some(_)) => {
            return Err(InputError(
                "--seed does nothing without --order random: FIFO and LIFO are not random".into(),
            )
            .into())
        }
    };
    let mut app = ctx.app(Access::Write)?;
    let mut progress = Progress::new("delivering", "deliveries");
    let reports = app.dispatch(
        order,
        args.component,
        args.process.as_deref(),
        args.limit,
        &mut |done, total| progress.show(done, total),
    );
    drop(progress);
    let reports = reports?;
    for report in &reports {
        ctx.log(&report.log)?;
        print_report(ctx, report, "delivered")?;
    }
    let failed = ctx.report_failures(&reports)?;
    if reports.is_empty() {
        ctx.note("nothing pending to deliver")?;
    }
    Ok(super::deliveries_failed(failed)?)
}

/// One line per delivery: what was delivered to whom and what it did.
pub fn print_report(ctx: &mut Context, report: &Report, verb: &str) -> anyhow::Result<()> {
    let d = &report.delivery;
    let published: Vec<u64> = report.published.iter().map(|e| e.seq).collect();
    let result = match &report.result {
        Handled::Applied => "applied",
        Handled::NoOp => "no-op",
        Handled::Failed { parked: true, .. } => "failed (parked)",
        Handled::Failed { parked: false, .. } => "failed",
    };
    if ctx.json {
        return ctx.json_line(&serde_json::json!({
            "seq": d.seq,
            "topic": d.topic,
            "component": d.component,
            "processId": d.process_id,
            "result": result,
            "published": published,
        }));
    }
    let published = match published.as_slice() {
        [] => String::new(),
        seqs => format!(
            ", published {}",
            seqs.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    writeln!(
        ctx.out,
        "{verb} {:<4} {:<19} to {:<12} {result}{published}",
        d.seq,
        d.topic.as_str(),
        d.component.as_str(),
    )?;
    Ok(())
}
