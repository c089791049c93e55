//! A connection's subscriptions (`SUBSCRIBE`, `PSUBSCRIBE`), with Redis 7.0's confirmations,
//! and the messages they receive.
//!
//! Any channel name and any pattern is accepted, as Redis accepts them, but the one channel
//! that ever carries a message is Sentinel's `+switch-master`: the server publishes there
//! (`Shared::publish_switch_master`) when a new cluster leader takes over, and every
//! subscribed connection hears it through a broadcast receiver it holds while it has a
//! subscription. A connection holds at most [`MAX_SUBSCRIPTIONS`] subscriptions and
//! [`MAX_NAME_BYTES`] bytes of names, so that subscribing cannot exhaust memory.

use crate::reply::Reply;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The channel Sentinel announces a new leader on.
pub const SWITCH_MASTER: &str = "+switch-master";
/// The most subscriptions (channels and patterns) one connection holds.
pub const MAX_SUBSCRIPTIONS: usize = 1024;
/// The most bytes of channel names and patterns one connection holds.
pub const MAX_NAME_BYTES: usize = 64 * 1024;

/// Channels or patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Channel,
    Pattern,
}

impl Target {
    fn subscribed(self) -> &'static [u8] {
        match self {
            Target::Channel => b"subscribe",
            Target::Pattern => b"psubscribe",
        }
    }

    fn unsubscribed(self) -> &'static [u8] {
        match self {
            Target::Channel => b"unsubscribe",
            Target::Pattern => b"punsubscribe",
        }
    }
}

/// What one connection is subscribed to.
#[derive(Debug, Default)]
pub struct Subscriptions {
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
    /// The published messages, while there is a subscription.
    receiver: Option<broadcast::Receiver<Arc<str>>>,
}

impl Subscriptions {
    /// Whether there is any subscription (Redis's subscribed state).
    pub fn any(&self) -> bool {
        self.count() > 0
    }

    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    fn list(&mut self, target: Target) -> &mut Vec<Vec<u8>> {
        match target {
            Target::Channel => &mut self.channels,
            Target::Pattern => &mut self.patterns,
        }
    }

    /// Subscribes to each name, confirming each as Redis does (`[subscribe, name, count]`);
    /// refused whole when it would pass the limits.
    pub fn subscribe(
        &mut self,
        target: Target,
        names: Vec<Vec<u8>>,
        hub: &broadcast::Sender<Arc<str>>,
    ) -> Result<Reply, Reply> {
        let mut fresh: Vec<&Vec<u8>> = Vec::new();
        for name in &names {
            if !self.list(target).contains(name) && !fresh.contains(&name) {
                fresh.push(name);
            }
        }
        let held: usize = self
            .channels
            .iter()
            .chain(&self.patterns)
            .map(Vec::len)
            .sum();
        let adding: usize = fresh.iter().map(|name| name.len()).sum();
        if self.count() + fresh.len() > MAX_SUBSCRIPTIONS || held + adding > MAX_NAME_BYTES {
            return Err(Reply::error(
                "ERR",
                format!(
                    "too many subscriptions: one connection holds at most {MAX_SUBSCRIPTIONS} \
                     channels and patterns, of {MAX_NAME_BYTES} bytes in all"
                ),
            ));
        }
        if self.receiver.is_none() {
            self.receiver = Some(hub.subscribe());
        }
        let mut replies = Vec::with_capacity(names.len());
        for name in names {
            if !self.list(target).contains(&name) {
                self.list(target).push(name.clone());
            }
            replies.push(confirmation(target.subscribed(), Some(name), self.count()));
        }
        Ok(Reply::Several(replies))
    }

    /// Unsubscribes from each name, or from every one of its kind when none is named,
    /// confirming each as Redis does (`[unsubscribe, name, count]`; a nil name when there was
    /// nothing to unsubscribe from).
    pub fn unsubscribe(&mut self, target: Target, names: Vec<Vec<u8>>) -> Reply {
        let names = if names.is_empty() {
            self.list(target).clone()
        } else {
            names
        };
        let mut replies = Vec::with_capacity(names.len().max(1));
        for name in names {
            self.list(target).retain(|held| *held != name);
            replies.push(confirmation(
                target.unsubscribed(),
                Some(name),
                self.count(),
            ));
        }
        if replies.is_empty() {
            replies.push(confirmation(target.unsubscribed(), None, self.count()));
        }
        if !self.any() {
            self.receiver = None;
        }
        Reply::Several(replies)
    }

    /// The next published message; pending for ever while there is no subscription. A
    /// receiver that fell behind skips what it missed.
    pub async fn next_message(&mut self) -> Arc<str> {
        let Some(receiver) = self.receiver.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            match receiver.recv().await {
                Ok(text) => return text,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
            }
        }
    }

    /// What a message published on `+switch-master` delivers to this connection, as Redis
    /// delivers it: a `message` for the channel, a `pmessage` for each matching pattern.
    pub fn deliveries(&self, text: &str) -> Vec<Reply> {
        let bulk = |bytes: &[u8]| Reply::Bulk(bytes.to_vec());
        let channel = SWITCH_MASTER.as_bytes();
        let direct = self
            .channels
            .iter()
            .filter(|name| name.as_slice() == channel)
            .map(|_| Reply::Push(vec![bulk(b"message"), bulk(channel), bulk(text.as_bytes())]));
        let by_pattern = self
            .patterns
            .iter()
            .filter(|pattern| glob_matches(pattern, channel))
            .map(|pattern| {
                Reply::Push(vec![
                    bulk(b"pmessage"),
                    bulk(pattern),
                    bulk(channel),
                    bulk(text.as_bytes()),
                ])
            });
        direct.chain(by_pattern).collect()
    }
}

fn confirmation(kind: &[u8], name: Option<Vec<u8>>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(kind.to_vec()),
        name.map_or(Reply::Nil, Reply::Bulk),
        Reply::Integer(count as i64),
    ])
}

/// Whether `text` matches the glob-style `pattern` as Redis matches channel patterns: `*`
/// any run, `?` any byte, `[abc]`, `[^abc]`, `[a-z]` one of a set, `\x` the byte x. In time
/// proportional to the two lengths multiplied (a pattern of many stars cannot take longer).
pub fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last star was, and the text position it is trying to cover up to.
    let mut retry: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            retry = Some((p, t));
            p += 1;
            continue;
        }
        if let Some((matched, next)) = one_byte(pattern, p, text[t]) {
            if matched {
                p = next;
                t += 1;
                continue;
            }
        }
        match retry {
            Some((star, covered)) => {
                p = star + 1;
                t = covered + 1;
                retry = Some((star, covered + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&b| b == b'*')
}

/// Whether the pattern's element at `p` (not a star) matches `byte`, and where the next
/// element starts; `None` at the pattern's end.
fn one_byte(pattern: &[u8], p: usize, byte: u8) -> Option<(bool, usize)> {
    match *pattern.get(p)? {
        b'?' => Some((true, p + 1)),
        b'\\' if p + 1 < pattern.len() => Some((pattern[p + 1] == byte, p + 2)),
        b'[' => {
            let mut at = p + 1;
            let negated = pattern.get(at) == Some(&b'^');
            if negated {
                at += 1;
            }
            let mut found = false;
            while at < pattern.len() && pattern[at] != b']' {
                if pattern[at] == b'\\' && at + 1 < pattern.len() {
                    found |= pattern[at + 1] == byte;
                    at += 2;
                } else if at + 2 < pattern.len()
                    && pattern[at + 1] == b'-'
                    && pattern[at + 2] != b']'
                {
                    let (low, high) = (
                        pattern[at].min(pattern[at + 2]),
                        pattern[at].max(pattern[at + 2]),
                    );
                    found |= (low..=high).contains(&byte);
                    at += 3;
                } else {
                    found |= pattern[at] == byte;
                    at += 1;
                }
            }
            Some((found != negated, (at + 1).min(pattern.len())))
        }
        other => Some((other == byte, p + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_redis_matches_them() {
        let channel = SWITCH_MASTER.as_bytes();
        for pattern in [
            "*",
            "+switch-*",
            "+switch-master",
            "*master",
            "+s?itch-*",
            "[+]switch*",
            "*-*",
            "\\+switch-master",
            "**",
        ] {
            assert!(glob_matches(pattern.as_bytes(), channel), "{pattern}");
        }
        for pattern in [
            "switch*",
            "+switch",
            "[^+]*",
            "?",
            "*x*",
            "+switch-master?",
            "",
        ] {
            assert!(!glob_matches(pattern.as_bytes(), channel), "{pattern}");
        }
        assert!(glob_matches(b"h[a-e]llo", b"hello"));
        assert!(!glob_matches(b"h[^e]llo", b"hello"));
        assert!(glob_matches(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_matches(b"a*b*c", b"aXXbYY"));
    }

    #[test]
    fn a_pattern_of_many_stars_is_matched_quickly() {
        let pattern = "*a".repeat(10_000) + "x";
        assert!(!glob_matches(pattern.as_bytes(), SWITCH_MASTER.as_bytes()));
    }

    #[test]
    fn confirmations_count_every_subscription() {
        let (hub, _) = broadcast::channel(4);
        let mut subs = Subscriptions::default();
        let mut out = Vec::new();
        subs.subscribe(Target::Channel, vec![b"a".to_vec(), b"a".to_vec()], &hub)
            .unwrap()
            .encode(2, &mut out);
        assert_eq!(
            out,
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
        );
        out.clear();
        subs.subscribe(Target::Channel, vec![b"b".to_vec()], &hub)
            .unwrap();
        // Each confirmation counts what is left after it, as Redis counts.
        subs.unsubscribe(Target::Channel, Vec::new())
            .encode(2, &mut out);
        assert_eq!(
            out,
            b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"
        );
        subs.subscribe(Target::Channel, vec![b"a".to_vec()], &hub)
            .unwrap();
        out.clear();
        subs.unsubscribe(Target::Pattern, Vec::new())
            .encode(3, &mut out);
        assert_eq!(out, b">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n");
        let too_many = (0..=MAX_SUBSCRIPTIONS)
            .map(|i| i.to_string().into_bytes())
            .collect();
        assert!(subs.subscribe(Target::Channel, too_many, &hub).is_err());
        assert!(subs.any());
    }
}
