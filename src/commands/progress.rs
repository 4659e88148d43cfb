//! Progress bars for the commands that go through a whole log (`rebuild`,
//! `import`): on stderr, only for a long log and only when stderr is a
//! terminal, so that scripts, pipes and tests never see one.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many events a log must have for a bar to be worth drawing.
pub const THRESHOLD: u64 = 10_000;

/// A bar counting `len` events, drawn on stderr when `len` is over
/// [`THRESHOLD`] and stderr is a terminal; a hidden one (whose methods do
/// nothing) otherwise.
pub fn bar(len: u64, message: &'static str) -> ProgressBar {
    if len <= THRESHOLD || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "pi7: {msg:<10} [{bar:30}] {human_pos}/{human_len} events ({eta} left)",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}
