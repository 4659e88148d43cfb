//! `pi7 pending`: the deliveries not handled yet, or parked after failing.

use super::Context;
use crate::app::{self, Access};
use crate::domain::Component;
use crate::render;

/// List the deliveries not handled yet (held, or left by an interrupted
/// command), or with `--failed` those parked after their handler failed
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List parked deliveries instead: those whose handler failed
    #[arg(long)]
    pub failed: bool,

    /// Only deliveries to this component
    #[arg(long = "to", value_name = "COMPONENT", value_parser = component_parser())]
    pub component: Option<Component>,

    /// Only deliveries of this process's events (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID", add = super::completions::any_id())]
    pub process: Option<String>,
}

pub fn component_parser() -> impl clap::builder::TypedValueParser<Value = Component> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Component::ALL.map(|c| c.as_str())).map(|s| {
        s.parse::<Component>()
            .expect("only known components are possible values")
    })
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let app = ctx.app(Access::Read)?;
    let deliveries = app.deliveries(args.failed, args.component, args.process.as_deref())?;
    if ctx.json {
        ctx.json_pretty(&deliveries)?;
    } else if deliveries.is_empty() {
        ctx.note(if args.failed {
            "no failed deliveries"
        } else {
            "nothing pending"
        })?;
    } else {
        let ids = app.short_ids(deliveries.iter().map(|d| d.process_id))?;
        write!(ctx.out, "{}", render::deliveries_table(&deliveries, &ids))?;
    }
    Ok(())
}
