//! `pi7 events`: the integration log, in `seq` order.

use std::time::Duration;

use super::Context;
use crate::app::{self, Access, EventFilter};
use crate::domain::Topic;
use crate::render;

const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Print the event log in `seq` order, as a table or (with `--json`) JSON
/// Lines, one envelope a line
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the events of this process (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID", add = super::completions::any_id())]
    pub process: Option<String>,

    /// Only the events of this topic
    #[arg(long, value_parser = topic_parser())]
    pub topic: Option<Topic>,

    /// Only the events after this seq
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub since: u64,

    /// Keep running and print new events as they land (stop with Ctrl-C)
    #[arg(short, long)]
    pub follow: bool,
}

fn topic_parser() -> impl clap::builder::TypedValueParser<Value = Topic> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Topic::ALL.map(|t| t.as_str())).map(|s| {
        s.parse::<Topic>()
            .expect("only known topics are possible values")
    })
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    // Following a database that does not exist yet waits for a writing
    // command to make it: only writing commands create a file, so a
    // mistyped --db leaves nothing behind.
    let app = if args.follow {
        database_to_follow(ctx)?
    } else {
        ctx.app(Access::Read)?
    };
    let mut filter = EventFilter {
        since: args.since,
        process: args
            .process
            .as_deref()
            .map(|text| app.process_of(text))
            .transpose()?,
        topic: args.topic,
    };
    let json = ctx.json;
    let out = &mut *ctx.out;
    if !json {
        write!(out, "{}", render::events_header())?;
    }
    let mut ids = crate::render::ShortIds::default();
    loop {
        filter.since = app.for_each_event(&filter, &mut |event| {
            if json {
                serde_json::to_writer(&mut *out, &event)?;
                writeln!(out)?;
            } else {
                app.learn_short_ids(&mut ids, [event.process_id])
                    .map_err(app::Error::into_source)?;
                write!(out, "{}", render::event_line(&event, &ids))?;
            }
            Ok(())
        })?;
        if !args.follow {
            return Ok(());
        }
        out.flush()?;
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// The database to follow, once there is one. A writing command makes the
/// file before it writes the schema into it, and a file opened in between
/// reads as no database: a follower that opened it then followed nothing,
/// for good. So it waits until the file holds a database.
fn database_to_follow(ctx: &mut Context) -> app::Result<app::App> {
    let path = ctx.db_path()?;
    let mut said = false;
    loop {
        if ctx.db_exists()? {
            let app = app::App::open(&path, Access::Read, ctx.options())?;
            if app.on_disk() {
                return Ok(app);
            }
        }
        if !said {
            let (what, writing) = super::not_a_database_yet(&path);
            ctx.note(&format!(
                "{what}; waiting for a writing command to {writing}"
            ))?;
            ctx.err.flush()?;
            said = true;
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}
