//! `pi7 import`: append another log (as `pi7 export` writes it) to this
//! database, reproducing its effects.

use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use super::submit::read_input;
use super::{progress, Context};
use crate::dispatch::{apply_command_event, deliver, publish, Handled, Handlers};
use crate::domain::{Envelope, NewEvent, Source};
use crate::error::InputError;
use crate::store::{DeliveryFilter, OpenMode, Pick, SqliteStore, Store};

/// Events (and deliveries handled before them) per transaction.
const CHUNK: usize = 1000;

/// Append the events of an exported log that this database does not have
///
/// Reads JSON Lines of envelopes, as `pi7 export` and `pi7 events --json`
/// write them, and appends the events whose id this database does not have
/// yet; then delivers what is pending. Events keep their id, topic, processId, causationId, source, time and
/// payload and get new seqs here, in the file's order; events whose id the
/// database already has are skipped, so importing a file twice appends
/// nothing the second time. Effects happen in the original order: before an
/// event that a command or a handler published is appended, every pending
/// delivery is handled (only what `submit` published may have waited), and
/// what a command did (confirm the reservation, say) is applied with its
/// event. Then what is pending is delivered, unless `--hold`. The whole
/// file is read and checked before anything is written; a bad line is
/// reported with its line and column, and nothing is imported.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The JSON Lines file; `-` reads standard input
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// One event of the file, where it is, and whether to append it.
struct Item {
    event: Envelope,
    line: usize,
    column: usize,
    /// Already in the database, or earlier in the file.
    present: bool,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let (source_name, text) = read_input(&args.file)?;
    let mut items = parse(&source_name, &text)?;
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    check(&store, &source_name, &mut items)?;
    let total = items.len();
    let already = items.iter().filter(|i| i.present).count();
    let bar = progress::bar(total as u64, "importing");

    let mut next = 0;
    // Deliveries that failed (and stay pending) while draining before the
    // current event: tried once per drain, as `pi7 dispatch` does.
    let mut exclude: Vec<i64> = Vec::new();
    while next < total {
        let (after, exclude_after, reports, log) = store.transaction(&mut |tx| {
            let mut at = next;
            let mut exclude = exclude.clone();
            let mut reports = Vec::new();
            let mut log = Vec::new();
            let mut budget = CHUNK;
            while at < total && budget > 0 {
                let item = &items[at];
                if item.present {
                    at += 1;
                    continue;
                }
                budget -= 1;
                if drains_first(&item.event) {
                    let filter = DeliveryFilter {
                        exclude: exclude.clone(),
                        ..DeliveryFilter::default()
                    };
                    if let Some(delivery) = tx.next_pending(Pick::First, &filter)? {
                        let report = deliver(tx, &delivery, &Handlers::REAL)?;
                        if let Handled::Failed { parked: false, .. } = report.result {
                            exclude.push(delivery.key);
                        }
                        log.extend(report.log.iter().cloned());
                        reports.push(report);
                        continue;
                    }
                }
                let e = &item.event;
                let new = NewEvent {
                    id: e.id,
                    topic: e.topic,
                    process_id: e.process_id,
                    causation_id: e.causation_id,
                    source: e.source,
                    time: e.time,
                    payload: e.payload.clone(),
                };
                log.push(format!(
                    "import: {} {} (line {})",
                    e.topic.description(),
                    e.id,
                    item.line
                ));
                // `None`: a handler already published this very event while
                // this import delivered what came before it.
                if let Some(appended) = publish(tx, new, &mut log)? {
                    apply_command_event(tx, &appended)?;
                }
                exclude.clear();
                at += 1;
            }
            Ok((at, exclude, reports, log))
        })?;
        bar.inc((after - next) as u64);
        next = after;
        exclude = exclude_after;
        ctx.report_failures(&reports)?;
        ctx.log(&log)?;
    }
    bar.finish_and_clear();
    ctx.settle(&mut store)?;

    let imported = total - already;
    if ctx.json {
        return ctx.json_line(&serde_json::json!({
            "events": total,
            "imported": imported,
            "alreadyPresent": already,
        }));
    }
    writeln!(
        ctx.out,
        "imported {imported} event{} ({already} already present)",
        if imported == 1 { "" } else { "s" }
    )?;
    Ok(())
}

/// Whether the deliveries pending when the event is appended must be
/// handled first, to reproduce the original order of effects. They must
/// before what a command published (a confirmation, say: the reservation it
/// confirms had been made, and the command did not run before what was
/// pending had been delivered) and before what a handler published (its
/// delivery was being handled, after those before it). Only what `submit`
/// published may arrive with deliveries held, as `--hold` leaves them.
fn drains_first(event: &Envelope) -> bool {
    event.causation_id.is_some() || event.source != Source::Web
}

/// Reads every envelope of the file, or says where the first bad one is.
fn parse(source_name: &str, text: &str) -> Result<Vec<Item>, InputError> {
    let mut items = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Envelope>();
    let mut start = 0;
    let mut lines = Lines::default();
    loop {
        // Where the next value starts: past the whitespace before it.
        let rest = &text[start..];
        let value_start = start + (rest.len() - rest.trim_start().len());
        match stream.next() {
            None => break,
            Some(Ok(event)) => {
                let (line, column) = lines.locate(text, value_start);
                items.push(Item {
                    event,
                    line,
                    column,
                    present: false,
                });
            }
            Some(Err(e)) => {
                let line_start = text
                    .split_inclusive('\n')
                    .take(e.line().saturating_sub(1))
                    .map(str::len)
                    .sum::<usize>();
                let offset = (line_start + e.column().saturating_sub(1)).min(text.len());
                let (line, column) = location(text, offset);
                let message = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                let message = message.strip_suffix(&suffix).unwrap_or(&message);
                return Err(InputError(format!(
                    "{source_name}:{line}:{column}: not an event envelope: {message}"
                )));
            }
        }
        start = stream.byte_offset();
    }
    Ok(items)
}

/// Locates increasing offsets in a text without rescanning it from the start.
#[derive(Default)]
struct Lines {
    /// Where the scan is, the line it is on and where that line starts.
    offset: usize,
    line: usize,
    line_start: usize,
}

impl Lines {
    /// 1-based line and column (in characters) of `offset`, which is not
    /// before the last one located.
    fn locate(&mut self, text: &str, offset: usize) -> (usize, usize) {
        let scanned = &text[self.offset..offset];
        self.line += scanned.matches('\n').count();
        if let Some(i) = scanned.rfind('\n') {
            self.line_start = self.offset + i + 1;
        }
        self.offset = offset;
        (
            self.line + 1,
            text[self.line_start..offset].chars().count() + 1,
        )
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn location(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Checks the file against itself and the database before anything is
/// written: an id the database (or the file, earlier) already has must
/// name the same event, and an event's cause must come before it. Marks
/// the events that are already there.
fn check(store: &SqliteStore, source_name: &str, items: &mut [Item]) -> anyhow::Result<()> {
    let mut earlier: HashMap<Uuid, usize> = HashMap::new();
    let mut known: HashSet<Uuid> = HashSet::new();
    for index in 0..items.len() {
        let item = &items[index];
        let at = format!("{source_name}:{}:{}", item.line, item.column);
        let event = &item.event;
        let before = match earlier.get(&event.id) {
            Some(&first) => Some((
                items[first].event.clone(),
                format!("line {} of the file", items[first].line),
            )),
            None => store.event_by_id(event.id)?.map(|e| {
                let where_ = format!("event {} of the database", e.seq);
                (e, where_)
            }),
        };
        if let Some(cause) = event.causation_id {
            if !known.contains(&cause) && store.event_by_id(cause)?.is_none() {
                return Err(InputError(format!(
                    "{at}: event {} was caused by event {cause}, which is neither earlier in the file nor in the database",
                    event.id
                ))
                .into());
            }
        }
        event
            .check_consistency()
            .map_err(|e| InputError(format!("{at}: event {}: {e}", event.id)))?;
        known.insert(event.id);
        if let Some((other, where_)) = before {
            if !same_event(&other, event) {
                return Err(InputError(format!(
                    "{at}: event {} is already {where_}, with different contents",
                    event.id
                ))
                .into());
            }
            items[index].present = true;
        } else {
            earlier.insert(event.id, index);
        }
    }
    Ok(())
}

/// The same event, wherever it is in its log.
fn same_event(a: &Envelope, b: &Envelope) -> bool {
    Envelope {
        seq: 0,
        ..a.clone()
    } == Envelope {
        seq: 0,
        ..b.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_line_and_column_of_a_bad_envelope() {
        let good = r#"{"seq":1,"id":"6b91c191-0000-4000-8000-000000000001","topic":"salesorder/request","processId":"6b91c191-0000-4000-8000-000000000002","causationId":null,"source":"web","time":1,"payload":{}}"#;
        let items = parse("f", &format!("{good}\n\n{good}\n")).unwrap();
        assert_eq!(
            items.iter().map(|i| (i.line, i.column)).collect::<Vec<_>>(),
            [(1, 1), (3, 1)]
        );
        let bad = good.replace("\"source\"", "\"sorce\"");
        let err = parse("f", &format!("{good}\n  {bad}\n")).err().unwrap().0;
        assert!(
            err.starts_with("f:2:") && err.contains("unknown field `sorce`"),
            "{err}"
        );
        let err = parse("f", &format!("{good}\n{{\"seq\": é\n"))
            .err()
            .unwrap()
            .0;
        assert_eq!(err, "f:2:9: not an event envelope: expected value");
        assert!(parse("f", "").unwrap().is_empty());
    }
}
