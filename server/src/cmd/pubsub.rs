//! `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE` (every role): Sentinel's
//! `+switch-master` announcements, with Redis 7.0's subscribed state (`subscriptions.rs`;
//! the router refuses other commands on a subscribed RESP2 connection).

use super::spec::{value, Access, ArgKind, Group, Spec, PLAIN};
use crate::parse::{Args, CmdResult};
use crate::session::Session;
use crate::state::Shared;
use crate::subscriptions::Target;

#[derive(Clone, Copy)]
pub enum Verb {
    Subscribe,
    PSubscribe,
    Unsubscribe,
    PUnsubscribe,
}

/// A parsed subscription command.
pub struct PubSub {
    target: Target,
    subscribe: bool,
    names: Vec<Vec<u8>>,
}

impl super::context::Verb for Verb {
    type Command = PubSub;

    const ALL: &'static [Verb] = &[
        Verb::Subscribe,
        Verb::PSubscribe,
        Verb::Unsubscribe,
        Verb::PUnsubscribe,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Subscribe => {
                const {
                    &Spec {
                    names: &["SUBSCRIBE"],
                    summary: "Listen on channels: Sentinel's +switch-master announces a new cluster leader",
                    syntax: &[value("channel", ArgKind::String).multiple()],
                    ..SUBSCRIPTION
                }
                }
            }
            Verb::PSubscribe => {
                const {
                    &Spec {
                    names: &["PSUBSCRIBE"],
                    summary: "Listen on the channels that match glob-style patterns (* hears +switch-master)",
                    syntax: &[value("pattern", ArgKind::Pattern).multiple()],
                    ..SUBSCRIPTION
                }
                }
            }
            Verb::Unsubscribe => {
                const {
                    &Spec {
                        names: &["UNSUBSCRIBE"],
                        summary: "Stop listening on channels (all when none is named)",
                        syntax: &[value("channel", ArgKind::String).optional().multiple()],
                        ..SUBSCRIPTION
                    }
                }
            }
            Verb::PUnsubscribe => {
                const {
                    &Spec {
                        names: &["PUNSUBSCRIBE"],
                        summary: "Stop listening on patterns (all when none is named)",
                        syntax: &[value("pattern", ArgKind::Pattern).optional().multiple()],
                        ..SUBSCRIPTION
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<PubSub> {
        let (target, subscribe) = match self {
            Verb::Subscribe => (Target::Channel, true),
            Verb::PSubscribe => (Target::Pattern, true),
            Verb::Unsubscribe => (Target::Channel, false),
            Verb::PUnsubscribe => (Target::Pattern, false),
        };
        Ok(PubSub {
            target,
            subscribe,
            names: std::iter::from_fn(|| args.next()).collect(),
        })
    }
}

/// What the subscription commands share.
const SUBSCRIPTION: Spec = Spec {
    group: Group::Cluster,
    since: 3,
    access: Access::PubSub,
    ..PLAIN
};

pub fn execute(shared: &Shared, session: &mut Session, command: PubSub) -> CmdResult {
    let subscriptions = &mut session.subscriptions;
    if command.subscribe {
        subscriptions.subscribe(command.target, command.names, shared.switch_master_hub())
    } else {
        Ok(subscriptions.unsubscribe(command.target, command.names))
    }
}
