//! Inputs named on the command line (`-` is standard input): read whole,
//! or a few whole lines at a time, so that a command can stream a file of
//! JSON values however large it is.

use std::io::{BufRead, Read};

use crate::error::InputError;

/// An input read as chunks of whole lines, each holding complete JSON
/// values (see [`chunk`](Self::chunk)): a parser reads each on its own, with
/// the number of its first line added to the lines it reports. A chunk
/// starts a line, so columns need no correction.
pub struct Input {
    source_name: String,
    reader: std::io::BufReader<std::fs::File>,
    /// Lines read so far.
    line: usize,
    /// Bytes read so far.
    read: u64,
    /// The size of the input, when it could be read.
    size: Option<u64>,
}

impl Input {
    /// Opens the input `name` names (`-` is standard input). What is not a
    /// regular file (standard input, a pipe, a terminal) is copied to a
    /// temporary file first: commands read their input inside their write
    /// transaction, which must not wait on a slow writer of it, or a person
    /// typing, while it holds the database's write lock.
    pub fn open(name: &str) -> Result<Input, InputError> {
        let (source_name, file) = if name == "-" {
            let cannot = |e| InputError(format!("cannot read standard input: {e}"));
            (
                "<stdin>".to_string(),
                spool(&mut std::io::stdin().lock()).map_err(cannot)?,
            )
        } else {
            let cannot = |e| InputError(format!("cannot read {name}: {e}"));
            let mut file = std::fs::File::open(name).map_err(cannot)?;
            if !file.metadata().map_err(cannot)?.is_file() {
                file = spool(&mut file).map_err(cannot)?;
            }
            (name.to_string(), file)
        };
        let size = file.metadata().ok().map(|m| m.len());
        let reader = std::io::BufReader::new(file);
        Ok(Input {
            source_name,
            reader,
            line: 0,
            read: 0,
            size,
        })
    }

    /// Starts the input over from its first line. Every input is a file
    /// (what is not is copied to one when it is opened), so it can be.
    pub fn rewind(&mut self) -> Result<(), InputError> {
        std::io::Seek::rewind(&mut self.reader)
            .map_err(|e| InputError(format!("cannot read {}: {e}", self.source_name)))?;
        self.line = 0;
        self.read = 0;
        Ok(())
    }

    /// What messages call the input: its path, or `<stdin>`.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// How many bytes of the input were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The size of the input in bytes.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The next whole lines that hold complete JSON values (or, at the end,
    /// whatever is left, which may be only blank lines), and the number of
    /// the first of them. Blank lines before a value are part of its chunk.
    /// Values are told apart by the depth of braces and brackets outside
    /// strings: a value that spans lines (or a JSON array) is one chunk; a
    /// value left open runs to the end of the input, where the parser says
    /// what is wrong with it.
    pub fn chunk(&mut self) -> Result<Option<(usize, String)>, InputError> {
        let first = self.line + 1;
        let mut chunk = String::new();
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let mut bytes = Vec::new();
            let read = self
                .reader
                .read_until(b'\n', &mut bytes)
                .map_err(|e| InputError(format!("cannot read {}: {e}", self.source_name)))?;
            if read == 0 {
                return Ok((!chunk.is_empty()).then_some((first, chunk)));
            }
            self.read += read as u64;
            self.line += 1;
            let mut text = String::from_utf8(bytes).map_err(|e| {
                InputError(format!(
                    "{} is not UTF-8 text: line {}: {e}",
                    self.source_name, self.line
                ))
            })?;
            if self.line == 1 {
                skip_byte_order_mark(&mut text);
            }
            for byte in text.bytes() {
                match (in_string, escaped, byte) {
                    (true, true, _) => escaped = false,
                    (true, false, b'\\') => escaped = true,
                    (true, false, b'"') => in_string = false,
                    (true, false, _) => {}
                    (false, _, b'"') => in_string = true,
                    (false, _, b'{' | b'[') => depth += 1,
                    (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            chunk.push_str(&text);
            if depth == 0 && !in_string && !chunk.trim().is_empty() {
                return Ok(Some((first, chunk)));
            }
        }
    }
}

/// A temporary file holding all of `input`, read from its start.
fn spool(input: &mut dyn Read) -> std::io::Result<std::fs::File> {
    let mut copy = tempfile::tempfile()?;
    std::io::copy(input, &mut copy)?;
    std::io::Seek::rewind(&mut copy)?;
    Ok(copy)
}

/// Reads a whole input named on the command line (`-` is stdin), returning
/// the name to use in messages and the text.
pub fn read_input(name: &str) -> Result<(String, String), InputError> {
    let mut bytes = Vec::new();
    let source_name = if name == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| InputError(format!("cannot read standard input: {e}")))?;
        "<stdin>".to_string()
    } else {
        bytes = std::fs::read(name).map_err(|e| InputError(format!("cannot read {name}: {e}")))?;
        name.to_string()
    };
    let mut text = String::from_utf8(bytes)
        .map_err(|e| InputError(format!("{source_name} is not UTF-8 text: {e}")))?;
    skip_byte_order_mark(&mut text);
    Ok((source_name, text))
}

/// Windows editors start UTF-8 files with a byte-order mark; it is not
/// part of the JSON.
fn skip_byte_order_mark(text: &mut String) {
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An import run again by the store reads its input again from the
    /// start, whether it was a file or was copied to one.
    #[test]
    fn an_input_rewound_gives_the_same_chunks_with_the_same_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"a\": 1}\n\n{\"b\":\n 2}\n").unwrap();
        let mut input = Input::open(path.to_str().unwrap()).unwrap();
        let chunks =
            |input: &mut Input| std::iter::from_fn(|| input.chunk().unwrap()).collect::<Vec<_>>();
        let first = chunks(&mut input);
        assert_eq!(
            first,
            [
                (1, "{\"a\": 1}\n".to_string()),
                (2, "\n{\"b\":\n 2}\n".to_string())
            ]
        );
        assert_eq!(input.bytes_read(), std::fs::metadata(&path).unwrap().len());
        input.rewind().unwrap();
        assert_eq!(input.bytes_read(), 0);
        assert_eq!(chunks(&mut input), first);
    }
}
