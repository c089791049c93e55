//! The etcd key layout, in one place: every key of cluster `NAME` is under `/crm/NAME/`.
//!
//! | key | value | lifetime |
//! | --- | --- | --- |
//! | `meta` | the cluster's id and creation facts (MACed) | created once, by the first node |
//! | `kdf` | a passphrase store's salt and Argon2id cost (plain: not secret) | created once |
//! | `leader` | the leader's name, run id, address (MACed) | bound to the leader's lease |
//! | `last-leader` | the last leader's address (MACed), for `master,s_down` | kept |
//! | `log/NNNNNNNNNNNNNNNNNNNN` | one sealed log entry, numbered from 1, 20 digits | until trimmed |
//! | `nodes/NODE` | a live node's registration (MACed) | bound to the node's lease |
//! | `members/NODE` | when a node was last seen live (MACed), for `s_down` | until `--log-retain` |
//!
//! Names are `[A-Za-z0-9._-]` (config.rs), so no name can reach into another's keys, and
//! entry numbers are zero-padded so key order is number order.

/// The keys of one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of cluster `name` (a name checked by [`crate::config::name`]).
    pub fn new(name: &str) -> Keys {
        Keys {
            prefix: format!("/crm/{name}/"),
        }
    }

    /// Every key of the cluster starts with this.
    pub fn prefix(&self) -> Vec<u8> {
        self.prefix.as_bytes().to_vec()
    }

    fn key(&self, rest: &str) -> Vec<u8> {
        format!("{}{rest}", self.prefix).into_bytes()
    }

    pub fn meta(&self) -> Vec<u8> {
        self.key("meta")
    }

    /// A passphrase store's salt and cost (not secret; plain), so a node joining with a
    /// passphrase and no store yet can derive the master key that every other key here needs.
    pub fn kdf(&self) -> Vec<u8> {
        self.key("kdf")
    }

    pub fn leader(&self) -> Vec<u8> {
        self.key("leader")
    }

    pub fn last_leader(&self) -> Vec<u8> {
        self.key("last-leader")
    }

    /// The key of log entry `number`.
    pub fn entry(&self, number: u64) -> Vec<u8> {
        self.key(&format!("log/{number:020}"))
    }

    /// The prefix of every log entry.
    pub fn log(&self) -> Vec<u8> {
        self.key("log/")
    }

    /// The end of the log's key range (excluded).
    pub fn log_end(&self) -> Vec<u8> {
        crate::etcd::prefix_end(&self.log())
    }

    /// The entry number of a log key, if it is one of this cluster's.
    pub fn entry_number(&self, key: &[u8]) -> Option<u64> {
        number_after(key, &self.log())
    }

    /// The age mark of the log up to entry `number` (`trim.rs`): when the leader saw that
    /// entry written.
    pub fn age_mark(&self, number: u64) -> Vec<u8> {
        self.key(&format!("ages/{number:020}"))
    }

    /// The prefix of every age mark.
    pub fn age_marks(&self) -> Vec<u8> {
        self.key("ages/")
    }

    /// The entry number of an age mark's key, if it is one of this cluster's.
    pub fn age_mark_number(&self, key: &[u8]) -> Option<u64> {
        number_after(key, &self.age_marks())
    }

    /// The registration key of `node`.
    pub fn node(&self, node: &str) -> Vec<u8> {
        self.key(&format!("nodes/{node}"))
    }

    /// The prefix of every registration.
    pub fn nodes(&self) -> Vec<u8> {
        self.key("nodes/")
    }

    /// The "last seen" key of `node`.
    pub fn member(&self, node: &str) -> Vec<u8> {
        self.key(&format!("members/{node}"))
    }

    /// The prefix of every "last seen" key.
    pub fn members(&self) -> Vec<u8> {
        self.key("members/")
    }

    /// The node name of a registration or "last seen" key.
    pub fn node_name<'a>(&self, key: &'a [u8]) -> Option<&'a str> {
        let nodes = self.nodes();
        let members = self.members();
        let name = key
            .strip_prefix(nodes.as_slice())
            .or_else(|| key.strip_prefix(members.as_slice()))?;
        std::str::from_utf8(name).ok()
    }
}

/// The 20-digit number a key holds after `prefix`.
fn number_after(key: &[u8], prefix: &[u8]) -> Option<u64> {
    let digits = key.strip_prefix(prefix)?;
    if digits.len() != 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keys_sort_by_number_and_parse_back() {
        let keys = Keys::new("crm-a");
        assert_eq!(
            keys.entry(42),
            b"/crm/crm-a/log/00000000000000000042".to_vec()
        );
        assert!(keys.entry(9) < keys.entry(10));
        assert!(keys.entry(u64::MAX) < keys.log_end());
        assert_eq!(keys.entry_number(&keys.entry(u64::MAX)), Some(u64::MAX));
        assert_eq!(keys.entry_number(b"/crm/crm-a/log/12"), None);
        assert_eq!(keys.entry_number(&Keys::new("crm-b").entry(1)), None);
        assert_eq!(keys.node_name(&keys.node("n1")), Some("n1"));
        assert_eq!(keys.node_name(&keys.member("n2")), Some("n2"));
        // A cluster whose name extends another's shares none of its keys.
        assert!(!Keys::new("crm-ab").leader().starts_with(&keys.prefix()));
    }
}
