//! `import`: another log (as `export` writes it) taken into this database
//! as a verified replay: every command is carried out again and every event
//! a handler published must come out again, exactly.

use std::collections::VecDeque;
use std::path::Path;

use super::{App, Result};
use crate::dispatch::Handlers;
use crate::domain::LogLine;
use crate::error::InputError;
use crate::replay::{Header, Replay, ReplayError, Step, FORMAT, FORMAT_VERSION};
use crate::store::Store;

/// Chunks of a log file: whole lines that hold complete JSON values, each
/// chunk with the number of its first line, as the command line cuts a file
/// it streams. A chunk starts a line, so only lines need moving.
pub trait Chunks {
    /// The next chunk; `None` at the end of the file.
    fn next_chunk(&mut self) -> Option<std::result::Result<(usize, String), InputError>>;
    /// Starts the file over from its first line: a store runs a unit of
    /// work again whole when another writer was in the way.
    fn rewind(&mut self) -> std::result::Result<(), InputError>;
}

/// A whole text as one chunk, for tests.
#[cfg(test)]
pub(crate) struct WholeText {
    text: String,
    read: bool,
}

#[cfg(test)]
impl WholeText {
    pub(crate) fn new(text: &str) -> Self {
        WholeText {
            text: text.to_string(),
            read: false,
        }
    }
}

#[cfg(test)]
impl Chunks for WholeText {
    fn next_chunk(&mut self) -> Option<std::result::Result<(usize, String), InputError>> {
        (!std::mem::replace(&mut self.read, true)).then(|| Ok((1, self.text.clone())))
    }

    fn rewind(&mut self) -> std::result::Result<(), InputError> {
        self.read = false;
        Ok(())
    }
}

/// A log file being imported: its header is read when it is opened, its
/// steps a chunk at a time as the import replays them, so that memory does
/// not grow with the file.
pub struct Log<'a> {
    chunks: Box<dyn Chunks + 'a>,
    parser: Parser,
    /// Steps read and not replayed yet: those of one chunk.
    ready: VecDeque<Item>,
    done: bool,
}

impl<'a> Log<'a> {
    /// Reads the chunks of `source_name` up to its first value: whether the
    /// file is an export (a header first) or envelopes alone. Says where
    /// the first bad line is, if it comes before that.
    pub fn open(source_name: &str, chunks: Box<dyn Chunks + 'a>) -> Result<Log<'a>, InputError> {
        let mut log = Log {
            chunks,
            parser: Parser::new(source_name),
            ready: VecDeque::new(),
            done: false,
        };
        log.read_to_first_value()?;
        Ok(log)
    }

    fn read_to_first_value(&mut self) -> Result<(), InputError> {
        while !self.parser.started && !self.done {
            self.read()?;
        }
        Ok(())
    }

    /// Starts reading the file over, as [`open`](Self::open) left it.
    fn rewind(&mut self) -> Result<(), InputError> {
        self.chunks.rewind()?;
        self.parser = Parser::new(&self.parser.source_name);
        self.ready.clear();
        self.done = false;
        self.read_to_first_value()
    }

    /// Whether the file is an export: it records where deliveries were
    /// handled.
    pub fn exact(&self) -> bool {
        self.parser.header.is_some()
    }

    /// The next step of the file, read from the next chunks when the last
    /// is used up; an error says where the first bad line is.
    fn next_item(&mut self) -> Option<Result<Item, InputError>> {
        while self.ready.is_empty() && !self.done {
            if let Err(e) = self.read() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.ready.pop_front().map(Ok)
    }

    fn read(&mut self) -> Result<(), InputError> {
        match self.chunks.next_chunk() {
            None => self.done = true,
            Some(chunk) => {
                let (first, text) = chunk?;
                self.parser.parse(first, &text, &mut self.ready)?;
            }
        }
        Ok(())
    }
}

/// What `import` did.
#[derive(Debug, Clone)]
pub struct Import {
    /// The events in the file.
    pub events: usize,
    pub appended: u64,
    pub present: u64,
    /// The workflow log lines of what the replay delivered (with `-v`).
    pub log: Vec<LogLine>,
    /// The file was an export: deliveries stay pending as where it was
    /// made, and none are made after the replay.
    pub exact: bool,
}

impl App {
    /// Replays `log` into the database in one write transaction, reading
    /// it as it goes; a file of envelopes alone (not exact) leaves what is
    /// pending to [`deliver_pending`](Self::deliver_pending).
    pub fn import(&mut self, log: &mut Log) -> Result<Import> {
        let keep_log = self.options.log;
        Ok(replay_file(&mut self.store, log, keep_log)?)
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

/// Replays the steps of `log` into `store` in one write transaction as it
/// reads them: the checks and the appends see one database, so of two
/// imports at once the second sees the first's events. A bad line anywhere
/// undoes it all. `keep_log`: keep the workflow log lines, which otherwise
/// would grow with the file.
pub(crate) fn replay_file<S: Store>(
    store: &mut S,
    log: &mut Log,
    keep_log: bool,
) -> anyhow::Result<Import> {
    let exact = log.exact();
    let source_name = log.parser.source_name.clone();
    let mut started = false;
    store.transaction(&mut |tx| {
        // Run again (another writer was in the way): the file from its start.
        if std::mem::replace(&mut started, true) {
            log.rewind()?;
        }
        let handlers = Handlers::REAL;
        let mut replay = Replay::new(&handlers, exact);
        let mut events = 0;
        while let Some(item) = log.next_item() {
            let item = item?;
            replay.step(tx, &item.step).map_err(|e| match e {
                ReplayError::Refused(why) => anyhow::Error::new(InputError(format!(
                    "{source_name}:{}:{}: {why}; nothing was imported",
                    item.line, item.column
                ))),
                ReplayError::Storage(e) => e.into(),
            })?;
            if matches!(item.step, Step::Event(_)) {
                events += 1;
            }
            if !keep_log {
                replay.log.clear();
            }
        }
        replay
            .finish(tx)
            .map_err(|e| InputError(format!("{source_name}: {e}; nothing was imported")))?;
        Ok(Import {
            events,
            appended: replay.appended,
            present: replay.present,
            log: std::mem::take(&mut replay.log),
            exact,
        })
    })
}

/// Reads the values of a log file, text by text, into steps.
struct Parser {
    source_name: String,
    /// `None`: a file of envelopes alone, with no record of where
    /// deliveries were handled.
    header: Option<Header>,
    /// A value was read: a header may no longer come.
    started: bool,
}

impl Parser {
    fn new(source_name: &str) -> Parser {
        Parser {
            source_name: source_name.to_string(),
            header: None,
            started: false,
        }
    }

    /// Reads the values of `text`, whole lines of the file from line
    /// `first`, into `items`, or says where the first bad one is. The first
    /// value of the file may be its header.
    fn parse(
        &mut self,
        first: usize,
        text: &str,
        items: &mut impl Extend<Item>,
    ) -> Result<(), InputError> {
        let source_name = &self.source_name;
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
                    // The text starts a line: only lines move.
                    let line = line + first - 1;
                    let at =
                        |why: String| InputError(format!("{source_name}:{line}:{column}: {why}"));
                    if !std::mem::replace(&mut self.started, true) && value.get("format").is_some()
                    {
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
                        self.header = Some(found);
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
                    items.extend([Item { step, line, column }]);
                }
                Some(Err(e)) => {
                    let line_start = text
                        .split_inclusive('\n')
                        .take(e.line().saturating_sub(1))
                        .map(str::len)
                        .sum::<usize>();
                    let offset = (line_start + e.column().saturating_sub(1)).min(text.len());
                    let (line, column) = location(text, offset);
                    let line = line + first - 1;
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
        Ok(())
    }
}

/// Reads the header and every step of a whole file's `text`, or says where
/// the first bad line is. `None` for the header: a file of envelopes alone.
#[cfg(test)]
fn parse(source_name: &str, text: &str) -> Result<(Option<Header>, Vec<Item>), InputError> {
    let mut parser = Parser::new(source_name);
    let mut items = Vec::new();
    parser.parse(1, text, &mut items)?;
    Ok((parser.header, items))
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

    /// A store runs a unit of work again whole when another writer was in
    /// the way: the import then reads its file again from the start.
    #[test]
    fn a_log_read_again_from_its_start_gives_the_same_steps() {
        let good = r#"{"seq":1,"id":"6b91c191-0000-4000-8000-000000000001","topic":"salesorder/request","processId":"6b91c191-0000-4000-8000-000000000002","causationId":null,"source":"web","time":1,"payload":{}}"#;
        let text = format!("{good}\n\n{good}\n");
        let mut log = Log::open("f", Box::new(WholeText::new(&text))).unwrap();
        let steps = |log: &mut Log| {
            std::iter::from_fn(|| log.next_item())
                .map(|item| {
                    let item = item.unwrap();
                    (item.line, item.column)
                })
                .collect::<Vec<_>>()
        };
        let first = steps(&mut log);
        assert_eq!(first, [(1, 1), (3, 1)]);
        assert!(steps(&mut log).is_empty(), "read to its end");
        log.rewind().unwrap();
        assert_eq!(steps(&mut log), first);
    }

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
