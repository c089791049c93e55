//! What every command family shares with the router: the [`Verb`] trait each family
//! implements, the [`Context`] a running command gets, and the [`Answer`] it gives — in a file
//! of their own so that the families depend on them and not on the router that depends on
//! the families.

use super::spec::Spec;
use crate::parse::{Args, CmdResult};
use crate::reply::Reply;
use crate::session::Session;
use crate::state::Shared;
use std::sync::Arc;
use tokio::time::Instant;

/// One family's verbs.
pub(crate) trait Verb: Copy + Send + Sync + 'static {
    /// The parsed command, ready to run.
    type Command;

    /// Every verb of the family, in the order `COMMAND` lists them.
    const ALL: &'static [Self];

    /// The verb's entry in the family's table: its names, role, arity and syntax, said once
    /// (`spec.rs`).
    fn spec(self) -> &'static Spec;

    /// Parses the arguments (the arity is already checked; `finish()` follows).
    fn parse(self, args: &mut Args) -> CmdResult<Self::Command>;
}

/// What the connection does after a reply.
pub struct Answer {
    pub reply: Reply,
    /// Close the connection once the reply is written (`QUIT`).
    pub close: bool,
}

impl Answer {
    pub(crate) fn reply(reply: Reply) -> Answer {
        Answer {
            reply,
            close: false,
        }
    }
}

/// What a running command may use.
pub(crate) struct Context<'a> {
    pub shared: &'a Arc<Shared>,
    pub session: &'a mut Session,
    pub read_at: Instant,
}

impl Context<'_> {
    /// Who the journal records as the author of this command's writes.
    pub fn author(&self) -> Option<String> {
        self.session.user_name().map(str::to_string)
    }
}
