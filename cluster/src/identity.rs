//! The data folder's `cluster` file: which cluster the folder belongs to, the node's own
//! identity, and the last position made durable in the node's own files.
//!
//! It lets `serve` decide every start-up refusal (another cluster's folder, a folder that never
//! belonged to this cluster, a position no longer in the log) *before* opening the store, since
//! opening replays and rotates the store's redo log, and the contract says a refused start
//! changes no file. The node id is what makes a node restarted on its own folder the same node
//! (it replaces its own earlier registration at once), while another process started with the
//! same `--node` name is refused.
//!
//! Format (text, one `key value` a line, written to a temporary file, synced, then renamed):
//! ```text
//! crm-cluster 1
//! cluster_name NAME
//! cluster_id 32 hex digits
//! node_id 32 hex digits
//! durable N
//! ```

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name in the data folder.
pub const FILE: &str = "cluster";
const HEADER: &str = "crm-cluster 1";

/// A cluster's or a node's random 128-bit id.
pub type Id = [u8; 16];

/// A fresh random id.
pub fn random_id() -> Id {
    rand::random()
}

/// An id as 32 lower-case hex digits.
pub fn hex(id: &Id) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<Id> {
    if text.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// What the `cluster` file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub cluster_name: String,
    pub cluster_id: Id,
    pub node_id: Id,
    /// The last log entry applied and made durable in this node's own files.
    pub durable: u64,
}

impl Identity {
    /// A new node's identity in cluster (`cluster_name`, `cluster_id`).
    pub fn new(cluster_name: &str, cluster_id: Id) -> Identity {
        Identity {
            cluster_name: cluster_name.to_string(),
            cluster_id,
            node_id: random_id(),
            durable: 0,
        }
    }

    /// The path of the file in `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE)
    }

    /// Reads the file of `data_dir`: `None` when there is none.
    pub fn load(data_dir: &Path) -> Result<Option<Identity>> {
        let path = Identity::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        Identity::parse(&text)
            .map(Some)
            .map_err(|message| Error::Identity {
                path: path.display().to_string(),
                message,
            })
    }

    fn parse(text: &str) -> std::result::Result<Identity, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("does not start with {HEADER:?}"));
        }
        let mut field = |name: &str| -> std::result::Result<String, String> {
            let line = lines.next().ok_or_else(|| format!("{name} is missing"))?;
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| format!("expected {name}, found {line:?}"))
        };
        let cluster_name = field("cluster_name")?;
        crate::config::name("cluster_name", &cluster_name).map_err(|e| e.to_string())?;
        let cluster_id = field("cluster_id")?;
        let cluster_id = parse_hex(&cluster_id).ok_or("cluster_id is not 32 hex digits")?;
        let node_id = field("node_id")?;
        let node_id = parse_hex(&node_id).ok_or("node_id is not 32 hex digits")?;
        let durable = field("durable")?;
        let durable = durable
            .parse()
            .map_err(|_| format!("durable {durable:?} is not a number"))?;
        Ok(Identity {
            cluster_name,
            cluster_id,
            node_id,
            durable,
        })
    }

    /// Writes the file atomically (temporary file, sync, rename, sync the folder), readable by
    /// its owner only.
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = Identity::path(data_dir);
        let temporary = data_dir.join(format!("{FILE}.tmp"));
        let text = format!(
            "{HEADER}\ncluster_name {}\ncluster_id {}\nnode_id {}\ndurable {}\n",
            self.cluster_name,
            hex(&self.cluster_id),
            hex(&self.node_id),
            self.durable
        );
        let context = |what: &str| format!("{what} {}", temporary.display());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|e| Error::io(context("creating"), e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(context("writing"), e))?;
        std::fs::rename(&temporary, &path)
            .map_err(|e| Error::io(format!("renaming to {}", path.display()), e))?;
        std::fs::File::open(data_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io(format!("syncing {}", data_dir.display()), e))
    }
}

/// What etcd says about the cluster a node starts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFacts {
    /// The cluster's id, if etcd knows the cluster.
    pub cluster_id: Option<Id>,
    /// The first entry still in the log (0: the log is empty).
    pub first_entry: u64,
}

/// How a node may start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// etcd knows no such cluster: create it from this store (empty or not).
    Create,
    /// An empty store joining an existing cluster: copy a snapshot from the leader.
    Join,
    /// This node's own folder: follow the log from its durable position.
    Rejoin { from: u64 },
}

/// Decides how a node starts, or refuses it with one line saying which and what to do
/// (PROTOCOL.md: "A node refuses to start").
pub fn admit(
    name: &str,
    identity: Option<&Identity>,
    store_is_empty: bool,
    etcd: LogFacts,
) -> Result<Admission> {
    let refuse = |line: String| Err(Error::Config(line));
    match (identity, etcd.cluster_id) {
        (Some(own), _) if own.cluster_name != name => refuse(format!(
            "this data folder belongs to cluster {:?}, not {name:?}: start with an empty --data folder to join {name:?}",
            own.cluster_name
        )),
        (Some(own), Some(id)) if own.cluster_id != id => refuse(format!(
            "this data folder belongs to an earlier cluster named {name:?} (id {}), not to the one etcd holds (id {}): start with an empty --data folder to join it",
            hex(&own.cluster_id),
            hex(&id)
        )),
        (Some(own), Some(_)) => {
            let next = own.durable.saturating_add(1);
            if etcd.first_entry > next {
                refuse(format!(
                    "this node's position (log entry {}) is no longer in the log (it starts at entry {}): start it with an empty --data folder",
                    own.durable, etcd.first_entry
                ))
            } else {
                Ok(Admission::Rejoin { from: own.durable })
            }
        }
        (_, None) => Ok(Admission::Create),
        (None, Some(_)) if store_is_empty => Ok(Admission::Join),
        (None, Some(_)) => refuse(format!(
            "this data folder holds a store that never belonged to cluster {name:?}: to join it, start with an empty --data folder"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), None);
        let mut identity = Identity::new("crm-a", random_id());
        identity.durable = 77;
        identity.save(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), Some(identity.clone()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(Identity::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(Identity::path(dir.path())).unwrap();
        std::fs::write(
            Identity::path(dir.path()),
            text.replace("durable 77", "durable x"),
        )
        .unwrap();
        assert!(matches!(
            Identity::load(dir.path()),
            Err(Error::Identity { .. })
        ));
    }

    #[test]
    fn admission_follows_the_contract() {
        let id = random_id();
        let mut own = Identity::new("crm-a", id);
        own.durable = 10;
        let known = |first_entry| LogFacts {
            cluster_id: Some(id),
            first_entry,
        };
        let unknown = LogFacts {
            cluster_id: None,
            first_entry: 0,
        };
        assert_eq!(
            admit("crm-a", None, true, unknown).unwrap(),
            Admission::Create
        );
        assert_eq!(
            admit("crm-a", None, false, unknown).unwrap(),
            Admission::Create
        );
        assert_eq!(
            admit("crm-a", None, true, known(1)).unwrap(),
            Admission::Join
        );
        assert_eq!(
            admit("crm-a", Some(&own), false, known(11)).unwrap(),
            Admission::Rejoin { from: 10 }
        );
        let refused = |result: Result<Admission>| match result {
            Err(Error::Config(line)) => line,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(admit("crm-a", None, false, known(1))).contains("never belonged"));
        assert!(refused(admit("crm-b", Some(&own), false, known(1))).contains("belongs to cluster"));
        assert!(
            refused(admit("crm-a", Some(&own), false, known(12))).contains("no longer in the log")
        );
        let other = LogFacts {
            cluster_id: Some(random_id()),
            first_entry: 1,
        };
        assert!(refused(admit("crm-a", Some(&own), false, other)).contains("earlier cluster"));
    }
}
