//! `rebuild`: every document recomputed from the log, the stored ones put
//! right.

use super::{App, Result};
use crate::error::Violations;
use crate::replay::rebuild;
pub use crate::replay::Rebuilt;
pub use crate::store::{Change, DocumentChange, DocumentKind};

impl App {
    /// Replays the log and makes the stored documents exactly what it made,
    /// with every writer kept out from reading the log to replacing the
    /// documents, so no command slips an event in between. `progress` is
    /// told the log's last seq first, then each seq replayed. When the log
    /// cannot be replayed, nothing is written.
    pub fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(Rebuilt, Vec<DocumentChange>)> {
        let path = self.name();
        Ok(self.store.rebuild_documents(&mut |log, last| {
            rebuild(log, u64::MAX, &mut |seq| progress(seq, last)).map_err(|e| {
                Violations(format!(
                    "cannot rebuild the documents of {path}: replaying the log failed: {e}; nothing was written"
                ))
                .into()
            })
        })?)
    }
}
