//! `import`: another log (as `export` writes it) taken into this database
//! as a verified replay: every command is carried out again and every event
//! a handler published must come out again, exactly.

use std::path::Path;

use super::{App, Result};
use crate::dispatch::Handlers;
use crate::error::InputError;
use crate::replay::{Header, Replay, ReplayError, Step, FORMAT, FORMAT_VERSION};
use crate::store::Store;

/// A log file, read and checked line by line, ready to import.
pub struct Log {
    source_name: String,
    /// `None`: a file of envelopes alone, with no record of where
    /// deliveries were handled.
    header: Option<Header>,
    items: Vec<Item>,
}

impl Log {
    /// Reads `text`, the contents of `source_name`, or says where its
    /// first bad line is.
    pub fn parse(source_name: &str, text: &str) -> Result<Log, InputError> {
        let (header, items) = parse(source_name, text)?;
        Ok(Log {
            source_name: source_name.to_string(),
            header,
            items,
        })
    }

    /// How many lines the import replays: what its progress counts.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What `import` did.
#[derive(Debug, Clone)]
pub struct Import {
    /// The events in the file.
    pub events: usize,
    pub appended: u64,
    pub present: u64,
    /// The workflow log lines of what the replay delivered.
    pub log: Vec<String>,
    /// The file was an export: deliveries stay pending as where it was
    /// made, and none are made after the replay.
    pub exact: bool,
}

impl App {
    /// Replays `log` into the database in one write transaction; a file of
    /// envelopes alone (not exact) leaves what is pending to
    /// [`deliver_pending`](Self::deliver_pending). `progress` gets the
    /// number of lines replayed so far.
    pub fn import(&mut self, log: &Log, progress: &mut dyn FnMut(u64)) -> Result<Import> {
        let exact = log.header.is_some();
        let (appended, present, lines) = replay_file(
            &mut self.store,
            &log.source_name,
            &log.items,
            exact,
            progress,
        )?;
        Ok(Import {
            events: log
                .items
                .iter()
                .filter(|i| matches!(i.step, Step::Event(_)))
                .count(),
            appended,
            present,
            log: lines,
            exact,
        })
    }
}

/// Removes the SQLite database at `path` with its journal files: what a
/// refused import into a database that was not there leaves behind.
pub fn remove_new_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.to_path_buf().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// One line of the file and where it is.
pub(crate) struct Item {
    step: Step,
    line: usize,
    column: usize,
}

/// What an import did: events appended, events already present, and the
/// workflow log lines of what it delivered.
pub(crate) type Imported = (u64, u64, Vec<String>);

/// Replays the parsed `items` of `source_name` into `store` in one write
/// transaction: the checks and the appends see one database, so of two
/// imports at once the second sees the first's events. `progress` gets the
/// number of items replayed so far.
pub(crate) fn replay_file<S: Store>(
    store: &mut S,
    source_name: &str,
    items: &[Item],
    exact: bool,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Imported> {
    store.transaction(&mut |tx| {
        // A busy database runs this again from the start.
        progress(0);
        let handlers = Handlers::REAL;
        let mut replay = Replay::new(&handlers, exact);
        for (done, item) in items.iter().enumerate() {
            replay.step(tx, &item.step).map_err(|e| match e {
                ReplayError::Refused(why) => anyhow::Error::new(InputError(format!(
                    "{source_name}:{}:{}: {why}; nothing was imported",
                    item.line, item.column
                ))),
                ReplayError::Storage(e) => e.into(),
            })?;
            progress(done as u64 + 1);
        }
        replay
            .finish(tx)
            .map_err(|e| InputError(format!("{source_name}: {e}; nothing was imported")))?;
        Ok((
            replay.appended,
            replay.present,
            std::mem::take(&mut replay.log),
        ))
    })
}

/// Reads the header and every step of the file, or says where the first
/// bad line is. `None` for the header: a file of envelopes alone.
pub(crate) fn parse(
    source_name: &str,
    text: &str,
) -> Result<(Option<Header>, Vec<Item>), InputError> {
    let mut items = Vec::new();
    let mut header = None;
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let mut start = 0;
    let mut lines = Lines::default();
    loop {
        // Where the next value starts: past the whitespace before it.
        let rest = &text[start..];
        let value_start = start + (rest.len() - rest.trim_start().len());
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let (line, column) = lines.locate(text, value_start);
                let at = |why: String| InputError(format!("{source_name}:{line}:{column}: {why}"));
                if items.is_empty() && header.is_none() && value.get("format").is_some() {
                    let found: Header = serde_json::from_value(value)
                        .map_err(|e| at(format!("not a pi7 export header: {e}")))?;
                    if found.format != FORMAT {
                        return Err(at(format!(
                            "the file is a {:?}, not a {FORMAT:?}",
                            found.format
                        )));
                    }
                    if found.version > FORMAT_VERSION {
                        return Err(at(format!(
                            "the file was written by a newer pi7 (export version {}; this pi7 reads up to {FORMAT_VERSION}); upgrade pi7 to import it",
                            found.version
                        )));
                    }
                    header = Some(found);
                    start = stream.byte_offset();
                    continue;
                }
                let raw = &text[value_start..stream.byte_offset()];
                let step = Step::parse(value, raw).map_err(|(why, inner)| {
                    let (line, column) = match inner {
                        Some((1, c)) => (line, column + c - 1),
                        Some((l, c)) => (line + l - 1, c),
                        None => (line, column),
                    };
                    InputError(format!("{source_name}:{line}:{column}: {why}"))
                })?;
                items.push(Item { step, line, column });
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
                    "{source_name}:{line}:{column}: not JSON: {message}"
                )));
            }
        }
        start = stream.byte_offset();
    }
    Ok((header, items))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_line_and_column_of_a_bad_envelope() {
        let good = r#"{"seq":1,"id":"6b91c191-0000-4000-8000-000000000001","topic":"salesorder/request","processId":"6b91c191-0000-4000-8000-000000000002","causationId":null,"source":"web","time":1,"payload":{}}"#;
        let (_, items) = parse("f", &format!("{good}\n\n{good}\n")).unwrap();
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
        assert_eq!(err, "f:2:9: not JSON: expected value");
        assert!(parse("f", "").unwrap().1.is_empty());
    }
}
