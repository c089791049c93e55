//! `AUDIT.LOG | VERIFY | HEAD` (admin only): the journal as an audit trail.

use super::context::Context;
use super::offload::heavy;
use super::spec::{keyword, Access, ArgKind, Group, Spec, PLAIN};
use super::values::{engine, limit, read_id};
use crate::parse::{printable, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crm_engine::journal::{hex, JournalFilter};
use crm_engine::values::{parse_after, DEFAULT_LIMIT};
use crm_engine::{Kind, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    Log,
    Verify,
    Head,
}

/// A parsed audit command.
pub enum Audit {
    Log(Keywords),
    Verify,
    Head,
}

impl super::context::Verb for Verb {
    type Command = Audit;

    const ALL: &'static [Verb] = &[Verb::Log, Verb::Verify, Verb::Head];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Log => {
                const {
                    &Spec {
                        names: &["AUDIT.LOG"],
                        summary:
                            "Journal entries after AFTER, filtered by author, kind or record id",
                        syntax: &[
                            keyword("AFTER", "seq", ArgKind::Integer).optional(),
                            keyword("USER", "name", ArgKind::String).optional(),
                            keyword("KIND", "kind", ArgKind::String).optional(),
                            keyword("ID", "id", ArgKind::Integer).optional(),
                            keyword("LIMIT", "count", ArgKind::Integer).optional(),
                        ],
                        ..AUDIT
                    }
                }
            }
            Verb::Verify => {
                const {
                    &Spec {
                        names: &["AUDIT.VERIFY"],
                        summary: "Check the journal's whole hash chain",
                        ..AUDIT
                    }
                }
            }
            Verb::Head => {
                const {
                    &Spec {
                        names: &["AUDIT.HEAD"],
                        summary:
                            "The last journal entry's number and hash, to write down elsewhere",
                        access: Access::ReadOne,
                        ..AUDIT
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Audit> {
        Ok(match self {
            Verb::Log => Audit::Log(args.keywords(self.spec().syntax)?),
            Verb::Verify => Audit::Verify,
            Verb::Head => Audit::Head,
        })
    }
}

/// What the audit verbs share: admins only, since `crm_protocol` 2.
const AUDIT: Spec = Spec {
    group: Group::Journal,
    since: 2,
    role: Some(Role::Admin),
    access: Access::Read,
    ..PLAIN
};

/// One of the six kinds, by its name in any case.
pub fn kind(value: &[u8]) -> CmdResult<Kind> {
    match value.to_ascii_lowercase().as_slice() {
        b"customer" => Ok(Kind::Customer),
        b"product" => Ok(Kind::Product),
        b"order" => Ok(Kind::Order),
        b"user" => Ok(Kind::User),
        b"backup" => Ok(Kind::Backup),
        b"schema" => Ok(Kind::Schema),
        _ => Err(Reply::error(
            "INVALID",
            format!(
                "kind: \"{}\" is not a kind (customer, product, order, user, backup, schema)",
                printable(value)
            ),
        )),
    }
}

pub async fn execute(context: &Context<'_>, command: Audit) -> CmdResult {
    let shared = context.shared;
    match command {
        Audit::Log(k) => {
            let after = match k.value("AFTER") {
                Some(bytes) => engine(parse_after(text("after", bytes)?))?,
                None => 0,
            };
            let kind = k.value("KIND").map(kind).transpose()?;
            let user = k
                .value("USER")
                .map(|u| text("user", u).map(str::to_string))
                .transpose()?;
            let limit = limit(&k, DEFAULT_LIMIT)?;
            let id = match k.value("ID") {
                // Not an id: no entry can be about it.
                Some(bytes) => match read_id(bytes) {
                    Some(id) => Some(id),
                    None => return Ok(Reply::Array(Vec::new())),
                },
                None => None,
            };
            let fetch = move |store: &crm_engine::Store, after: u64, limit: usize| {
                let filter = JournalFilter {
                    after,
                    user: user.clone(),
                    kind,
                    id,
                    limit,
                };
                Ok(store
                    .journal(&filter)?
                    .iter()
                    .map(|e| (e.seq, Reply::json(&e.to_json())))
                    .collect())
            };
            super::paged::page(shared, after, limit, std::sync::Arc::new(fetch)).await
        }
        Audit::Verify => {
            heavy(shared, &context.session.cancel, |store| {
                store.verify_journal()
            })
            .await?;
            Ok(Reply::ok())
        }
        Audit::Head => {
            let head = shared.store.journal_head();
            Ok(Reply::json(
                &serde_json::json!({"seq": head.seq, "hash": hex(&head.hash)}),
            ))
        }
    }
}
