//! What every command family shares with the router: the [`Verb`] trait each family
//! implements, the [`Context`] a running command gets, and the [`Answer`] it gives — in a file
//! of their own so that the families depend on them and not on the router that depends on
//! the families.

use crate::parse::{Args, CmdResult};
use crate::reply::Reply;
use crate::session::Session;
use crate::state::Shared;
use crm_engine::Role;
use std::sync::Arc;
use tokio::time::Instant;

/// What one family's verbs say about themselves.
pub(crate) trait Verb: Copy {
    /// The parsed command, ready to run.
    type Command;

    /// The fewest arguments after the name (flags counted); fewer is
    /// `ERR wrong number of arguments`, before any other check.
    fn minimum_arguments(self) -> usize;

    /// The least role that may run it; `None` for commands open to every connection.
    fn required_role(self) -> Option<Role>;

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
