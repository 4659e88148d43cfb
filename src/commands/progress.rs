//! Progress bars for long work (`rebuild`, `import`, `verify`, `dispatch`,
//! `confirm` and `reject` of many): on stderr, only when the work is long
//! and only when stderr is a terminal, so that scripts, pipes and tests
//! never see one.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much work (events, deliveries, reservations) is worth a bar: below
/// this, even a debug build is done in a few seconds.
pub const THRESHOLD: u64 = 10_000;

/// The progress of one piece of work, counted in `unit`s, as the use case
/// reports it. It is taken off the terminal when dropped, so drop it before
/// printing anything else.
pub struct Progress {
    message: &'static str,
    unit: &'static str,
    /// Made at the first report, when the length of the work is known.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `message` says what is being done ("replaying"), in at most 10
    /// characters; `unit` what is counted ("events").
    pub fn new(message: &'static str, unit: &'static str) -> Progress {
        Progress {
            message,
            unit,
            bar: None,
        }
    }

    /// Shows `done` of `total`. The first report decides whether a bar is
    /// drawn at all; later ones may move the end, for work that grows as it
    /// goes (handling a delivery makes more).
    pub fn show(&mut self, done: u64, total: u64) {
        let bar = self
            .bar
            .get_or_insert_with(|| bar(total, self.message, self.unit));
        // Work that sits at 0 while it prepares (verify's checks before
        // its replay) would have the time until its first step taken for
        // the time a step takes: hours left, for a few seconds of work.
        if bar.position() == 0 && done > 0 {
            bar.reset_eta();
        }
        bar.set_length(total);
        bar.set_position(done);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The unit of work read from a file as it is done (`import`): counted
/// as sizes ("1.50 MiB/12.00 MiB"), with a bar from [`BYTES_THRESHOLD`].
pub const BYTES: &str = "bytes";

/// How many bytes of a file are worth a bar: about as much work as
/// [`THRESHOLD`] events, an exported event and the lines that go with it
/// taking some hundreds of bytes.
const BYTES_THRESHOLD: u64 = THRESHOLD * 400;

/// A bar counting `len` `unit`s, drawn on stderr when `len` is over
/// [`THRESHOLD`] ([`BYTES_THRESHOLD`] of [`BYTES`]) and stderr is a
/// terminal; a hidden one (whose methods do nothing) otherwise.
fn bar(len: u64, message: &'static str, unit: &str) -> ProgressBar {
    let (threshold, counts) = if unit == BYTES {
        (BYTES_THRESHOLD, "{bytes}/{total_bytes}".to_string())
    } else {
        (THRESHOLD, format!("{{human_pos}}/{{human_len}} {unit}"))
    };
    if len <= threshold || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // As wide a line as a bar of events has (79 columns at 30,000 of
    // them): a longer unit, a shorter bar, so that it fits 80 columns.
    // Sizes ("12.34 MiB/51.19 MiB") take no more room than events.
    let shown = if unit == BYTES { "events" } else { unit };
    let width = (30 + "events".len()).saturating_sub(shown.len());
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "pi7: {{msg:<10}} [{{bar:{width}}}] {counts} ({{eta}} left)"
        ))
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_work_has_no_bar() {
        assert!(bar(THRESHOLD, "replaying", "events").is_hidden());
        assert!(bar(0, "replaying", "events").is_hidden());
        assert!(bar(BYTES_THRESHOLD, "importing", BYTES).is_hidden());
    }
}
