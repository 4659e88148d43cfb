//! pi7's integration tests: one test binary that drives the real `pi7`
//! with `assert_cmd`, one module per theme under `tests/it/`.
//!
//! Every test runs pi7 in its own temporary directory, with its own
//! database, a cleared environment and a fixed clock (`PI7_NOW`); see
//! [`util::TestEnv`]. Nothing here reads or writes the user's data.

#[path = "it/util.rs"]
mod util;

#[path = "it/broker.rs"]
mod broker;

#[path = "it/bad_input.rs"]
mod bad_input;
#[path = "it/browser.rs"]
mod browser;
#[path = "it/command_line.rs"]
mod command_line;
#[path = "it/completion.rs"]
mod completion;
#[path = "it/deliverables.rs"]
mod deliverables;
#[path = "it/events.rs"]
mod events;
#[path = "it/history.rs"]
mod history;
#[path = "it/human.rs"]
mod human;
#[path = "it/ids.rs"]
mod ids;
#[path = "it/json.rs"]
mod json;
#[path = "it/lifecycle.rs"]
mod lifecycle;
#[path = "it/list.rs"]
mod list;
#[path = "it/mqtt.rs"]
mod mqtt;
#[path = "it/ordering.rs"]
mod ordering;
#[path = "it/postgres.rs"]
mod postgres;
#[path = "it/reliability.rs"]
mod reliability;
#[path = "it/serve.rs"]
mod serve;
#[path = "it/server.rs"]
mod server;
#[path = "it/storage.rs"]
mod storage;
#[path = "it/story.rs"]
mod story;
#[path = "it/submit.rs"]
mod submit;
#[path = "it/trust.rs"]
mod trust;
#[path = "it/verbose.rs"]
mod verbose;
