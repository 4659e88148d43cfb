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
    reader: Box<dyn BufRead>,
    /// Lines read so far.
    line: usize,
    /// Bytes read so far.
    read: u64,
    /// The size of a regular file; `None` for standard input or a pipe.
    size: Option<u64>,
}

impl Input {
    /// Opens the input `name` names (`-` is standard input).
    pub fn open(name: &str) -> Result<Input, InputError> {
        let (source_name, reader, size): (_, Box<dyn BufRead>, _) = if name == "-" {
            ("<stdin>".into(), Box::new(std::io::stdin().lock()), None)
        } else {
            let cannot = |e| InputError(format!("cannot read {name}: {e}"));
            let file = std::fs::File::open(name).map_err(cannot)?;
            let metadata = file.metadata().map_err(cannot)?;
            let size = metadata.is_file().then_some(metadata.len());
            let reader = Box::new(std::io::BufReader::new(file));
            (name.to_string(), reader, size)
        };
        Ok(Input {
            source_name,
            reader,
            line: 0,
            read: 0,
            size,
        })
    }

    /// What messages call the input: its path, or `<stdin>`.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// How many bytes of the input were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The size of the input in bytes, when it is a regular file.
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
            // Windows editors start UTF-8 files with a byte-order mark; it
            // is not part of the JSON.
            if self.line == 1 && text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
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
    // Windows editors start UTF-8 files with a byte-order mark; it is not
    // part of the JSON.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok((source_name, text))
}
