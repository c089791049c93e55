//! The store's side of kept merges: the purge of those past their 30 days. The merge and
//! unmerge writes themselves are in `write/merge.rs`.

use crate::error::Result;
use crate::store::Store;
use crate::trees::Space;
use crate::write::{Op, Outcome};

impl Store {
    /// Drops every merge older than 30 days by the server's merge clock, destroying the
    /// merged-away customers' keys; returns whether there was any. Run at open and from time
    /// to time by the server.
    pub fn purge_expired_merges(&self) -> Result<bool> {
        if self
            .shared
            .tree
            .scan_prefix(Space::KeptMerge.prefix())
            .next()
            .is_none()
        {
            return Ok(false);
        }
        let now = crate::values::merge_clock();
        Ok(self.write(Op::PurgeMerges { now })? == Outcome::Done)
    }

    /// How many merges the store keeps (past their 30 days included until purged).
    pub fn kept_merge_count(&self) -> usize {
        self.shared
            .tree
            .scan_prefix(Space::KeptMerge.prefix())
            .count()
    }
}
