//! The plain adds (`CUSTOMER.ADD`, `PRODUCT.ADD`, `ORDER.ADD`) and `CUSTOMER.UPSERT`, submitted
//! as soon as they are read.
//!
//! Each is built from its words alone, with no read of the store (an upsert's lookup is the
//! committer's), so the connection hands it
//! to the committer at once and answers it later, in order (`connection.rs`). A client that
//! pipelines sixteen adds has them in one write group and under one fsync; answered one
//! after another, each waited for the fsync of the one before (`redis-benchmark -P 16`
//! measured sixteen group commits per round trip). The committer applies writes in the order
//! they are submitted, so what a client reads after its adds' replies sees them all; anything
//! that is not a plain add runs only once every add before it is answered.

use super::context::Answer;
use super::values::{engine, new_id};
use super::{admit, customer, order, product, Command, Request};
use crate::session::Session;
use crate::state::Shared;
use std::sync::Arc;

/// What a connection does with a request.
pub enum Step {
    /// A plain add, submitted: its reply comes once its group is applied.
    Submitted(Submitted),
    /// Refused before it ran.
    Answered(Answer),
    /// Anything else: run once every add before it is answered.
    Run(RunLater),
}

/// A command to run, and when its request was read.
pub struct RunLater {
    pub(super) command: Command,
    pub(super) read_at: tokio::time::Instant,
}

/// A write handed to the committer.
pub struct Submitted {
    pending: crm_engine::PendingWrite,
    reply: ReplyTo,
}

/// How a submitted write is answered (a masked user is not told whose a taken email is).
enum ReplyTo {
    NewId,
    NewCustomer { masked: bool },
    Upsert { masked: bool },
}

impl Submitted {
    /// Waits for the write's result and says what to answer.
    pub async fn answer(self) -> Answer {
        let outcome = self.pending.outcome().await;
        let reply = match self.reply {
            ReplyTo::NewId => new_id(outcome),
            ReplyTo::NewCustomer { masked } => customer::added(masked, outcome),
            ReplyTo::Upsert { masked } => customer::upserted(masked, outcome),
        };
        Answer::reply(reply.unwrap_or_else(|reply| reply))
    }
}

/// Admits a request (authentication, name, arity, permission) and submits it if it is a plain
/// add; see [`Step`].
pub fn step(shared: &Arc<Shared>, session: &mut Session, request: Request) -> Step {
    let command = match admit(shared, session, request.args) {
        Ok(command) => command,
        Err(answer) => return Step::Answered(answer),
    };
    let masked = session.masked;
    let catalog = || shared.store.catalog();
    let (write, reply) = match &command {
        Command::Customer(customer::Customer::Add(k)) => (
            customer::add_write(k, &catalog()),
            ReplyTo::NewCustomer { masked },
        ),
        Command::Customer(customer::Customer::Upsert(k)) => (
            customer::upsert_write(k, &catalog()),
            ReplyTo::Upsert { masked },
        ),
        Command::Product(product::Product::Add(k)) => {
            (product::add_write(k, &catalog()), ReplyTo::NewId)
        }
        Command::Order(order::Order::Add(k)) => (order::add_write(k), ReplyTo::NewId),
        _ => {
            return Step::Run(RunLater {
                command,
                read_at: request.read_at,
            })
        }
    };
    let author = session.user_name().map(str::to_string);
    // As every command that serves data, a halted store is refused first.
    let submitted = engine(shared.store.health())
        .and(write)
        .and_then(|op| engine(shared.store.submit(op.by(author))));
    match submitted {
        Ok(pending) => Step::Submitted(Submitted { pending, reply }),
        Err(reply) => Step::Answered(Answer::reply(reply)),
    }
}
