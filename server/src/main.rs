//! The `crm-server` command line: `serve` and the tools around it (`tools/`).

use clap::{Parser, Subcommand, ValueEnum};
use crm_engine::{demo, Durability};
use crm_server::state::Config;
use std::path::PathBuf;
use std::time::Duration;
use tools::secrets::Secrets;

mod tools;

#[derive(Parser)]
#[command(
    name = "crm-server",
    version,
    about = "The CRM data backend, over the Redis protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Sync,
    Periodic,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the store over TCP.
    Serve {
        #[arg(long, default_value = "./crm-data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7379")]
        listen: String,
        /// The master key file; else CRM_PASSPHRASE; else a development key beside the data.
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Where backups go; default `backups` beside the data folder.
        #[arg(long)]
        backup_dir: Option<PathBuf>,
        /// MiB a backup must leave free on the disk it writes to (refused before it starts,
        /// stopped if the space runs low meanwhile).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(..=MAX_CACHE_MIB))]
        backup_min_free_mib: u64,
        /// sync (the default) or periodic; not with --cluster (etcd makes writes durable).
        #[arg(long, value_enum)]
        durability: Option<DurabilityArg>,
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Seconds a connection may stay silent; 0 for never.
        #[arg(long, default_value_t = 300)]
        idle_timeout: u64,
        /// Seconds a connection may stay without a successful AUTH, counted from accept; 0 for
        /// never.
        #[arg(long, default_value_t = 60)]
        auth_timeout: u64,
        /// Fill an empty store with demo data.
        #[arg(long)]
        demo: bool,
        /// sled's page cache budget in MiB (its real use runs to about twice this). With the
        /// defaults, a server holding 1,000,000 orders peaks at 477 MiB resident, analytics
        /// included; larger helps only stores whose hot pages outgrow it (see BENCHMARKS.md).
        #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(..=MAX_CACHE_MIB))]
        cache_mib: u64,
        /// MiB of opened customers, products and orders kept in memory for point reads (0
        /// turns it off): a hit skips the lookup and the decryption. Plain text stays in this
        /// process, which holds the key anyway; see SECURITY.md.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(..=MAX_CACHE_MIB))]
        record_cache_mib: u64,
        /// How many demo orders (10 per customer, 100 per product, at least the default
        /// 10,000); for trying the product, or its memory use, at scale.
        #[arg(long, default_value_t = demo::DEFAULT_SIZES.2 as u64, requires = "demo",
              value_parser = clap::value_parser!(u64).range(demo::DEFAULT_SIZES.2 as u64..))]
        demo_orders: u64,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Write a new random key file (mode 0600; never overwrites).
    Keygen { file: PathBuf },
    /// Ask a running server for a backup, with a progress bar (password: --password-file,
    /// CRM_PASSWORD or a prompt).
    Backup {
        #[command(flatten)]
        login: LoginArgs,
        name: Option<String>,
    },
    /// Import a CSV file (customers, products or orders), cleaned client-side, and print the
    /// report (password: --password-file, CRM_PASSWORD or a prompt). Exit status: 0 when no
    /// row was rejected, 3 when some were (the others are imported), 1 when nothing could be.
    Import {
        #[command(flatten)]
        login: LoginArgs,
        /// Customers go through CUSTOMER.UPSERT: existing ones (by email) are updated.
        #[arg(long)]
        upsert: bool,
        /// Write nothing; report what the import would do.
        #[arg(long)]
        dry_run: bool,
        /// Write every rejected row, as it was in the file plus a `reason` column, to this new
        /// CSV file (mode 0600; never overwritten).
        #[arg(long)]
        rejects: Option<PathBuf>,
        kind: String,
        file: PathBuf,
    },
    /// Follow the change feed and print one JSON line per change (password: --password-file,
    /// CRM_PASSWORD or a prompt); from now, or after entry --from (0: from the start). When the
    /// server goes away, log in again (with a growing pause) and go on after the last entry
    /// printed.
    Tail {
        #[command(flatten)]
        login: LoginArgs,
        #[arg(long)]
        from: Option<u64>,
        /// Exit when the server goes away instead of waiting for it to come back.
        #[arg(long)]
        once: bool,
    },
    /// Give a user a new password, offline (the server stopped), with the store's key as
    /// `serve` finds it; the new password from --password-file, CRM_NEW_PASSWORD or a prompt.
    Passwd {
        #[arg(long, default_value = "./crm-data")]
        data: PathBuf,
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// A file whose first line is the new password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        user: String,
    },
    /// Check every chunk and the trailer of a backup file (key: --key-file or CRM_PASSPHRASE).
    Verify {
        file: PathBuf,
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Restore a backup file into a new data folder, then check it (key: --key-file or CRM_PASSPHRASE).
    Restore {
        file: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// A `FORGET.LIST` reply saved to a file (a JSON array, or one object per line): those
        /// customers are erased again before the restored store is first served.
        #[arg(long)]
        forget: Option<PathBuf>,
    },
    /// Rotate the master key offline: re-wraps the store's keys (current: --key-file or
    /// CRM_PASSPHRASE; new: --new-key-file or CRM_NEW_PASSPHRASE); a crash leaves a store one
    /// of the two keys opens, and running it again finishes.
    Rekey {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        key_file: Option<PathBuf>,
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
    /// Bring a store written by an older on-disk layout to the current one, atomically, with
    /// progress on stderr (key: --key-file or CRM_PASSPHRASE; `serve` does the same on open).
    Upgrade {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

/// `serve`'s cluster options (PROTOCOL.md, "Cluster"); checked by `crm_cluster::config`, so a
/// bad value is refused in one line naming it.
#[derive(clap::Args)]
struct ClusterArgs {
    /// etcd client URLs, comma-separated: run as a node of a cluster.
    #[arg(long)]
    cluster: Option<String>,
    /// The cluster's name (also the Sentinel service name).
    #[arg(long)]
    cluster_name: Option<String>,
    /// This node's name, unique in the cluster.
    #[arg(long)]
    node: Option<String>,
    /// Where clients reach this node, HOST:PORT (default: the --listen address).
    #[arg(long)]
    advertise: Option<String>,
    /// Seconds of the leader's etcd lease, 2 to 60 (default 5).
    #[arg(long)]
    lease_ttl: Option<u64>,
    /// Seconds log entries are kept at least, 60 to 604800 (default 3600).
    #[arg(long)]
    log_retain: Option<u64>,
}

impl ClusterArgs {
    /// The checked cluster configuration, `None` without `--cluster`.
    fn config(
        &self,
        listen: &str,
        durability_given: bool,
    ) -> anyhow::Result<Option<crm_cluster::config::ClusterConfig>> {
        let Some(endpoints) = &self.cluster else {
            for (given, option) in [
                (self.cluster_name.is_some(), "--cluster-name"),
                (self.node.is_some(), "--node"),
                (self.advertise.is_some(), "--advertise"),
                (self.lease_ttl.is_some(), "--lease-ttl"),
                (self.log_retain.is_some(), "--log-retain"),
            ] {
                if given {
                    anyhow::bail!("{option} needs --cluster");
                }
            }
            return Ok(None);
        };
        if durability_given {
            anyhow::bail!("--durability has no meaning with --cluster: every write is durable in etcd before it is acknowledged");
        }
        let missing = |option: &str| anyhow::anyhow!("--cluster needs {option}");
        let args = crm_cluster::config::ClusterArgs {
            cluster: endpoints,
            cluster_name: self
                .cluster_name
                .as_deref()
                .ok_or_else(|| missing("--cluster-name NAME"))?,
            node: self.node.as_deref().ok_or_else(|| missing("--node NODE"))?,
            advertise: self.advertise.as_deref(),
            listen,
            lease_ttl: self.lease_ttl,
            log_retain: self.log_retain,
        };
        Ok(Some(crm_cluster::config::ClusterConfig::from_args(&args)?))
    }
}

/// How the tools that talk to a running server log in.
#[derive(clap::Args)]
struct LoginArgs {
    #[arg(long, default_value = "127.0.0.1:7379")]
    connect: String,
    #[arg(long, default_value = "admin")]
    user: String,
    /// A file whose first line is the password (else CRM_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
}

impl LoginArgs {
    fn login(&self, secrets: &Secrets) -> anyhow::Result<tools::remote::Login> {
        tools::remote::Login::new(
            &self.connect,
            &self.user,
            self.password_file.as_deref(),
            secrets,
        )
    }
}

/// The exit status of an import that rejected some rows (the others were imported).
const EXIT_ROWS_REJECTED: i32 = 3;

/// The largest cache either option accepts, 1 TiB: beyond any machine this runs on, and far from
/// the byte count overflowing.
const MAX_CACHE_MIB: u64 = 1 << 20;

fn main() {
    // Every file and folder this program creates is its owner's only (sled's files included).
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let secrets = Secrets::take();
    let cli = Cli::parse();
    let result: anyhow::Result<i32> = match cli.command {
        Command::Serve { data, listen, key_file, backup_dir, backup_min_free_mib, durability, max_connections, idle_timeout, auth_timeout, cache_mib, record_cache_mib, demo, demo_orders, cluster } => 'serve: {
            let cluster = match cluster.config(&listen, durability.is_some()) {
                Ok(cluster) => cluster,
                Err(error) => break 'serve Err(error),
            };
            tools::serve::reexecute_if_needed(&secrets);
            let durability = match durability {
                Some(DurabilityArg::Periodic) => Durability::Periodic,
                None | Some(DurabilityArg::Sync) => Durability::Sync,
            };
            let backup_dir = backup_dir.unwrap_or_else(|| tools::store_key::beside(&data, "backups"));
            let config = Config {
                data_dir: data,
                backup_dir,
                listen,
                durability,
                max_connections,
                idle_timeout: (idle_timeout > 0).then(|| Duration::from_secs(idle_timeout)),
                auth_timeout: (auth_timeout > 0).then(|| Duration::from_secs(auth_timeout)),
                backup_min_free_bytes: backup_min_free_mib * 1024 * 1024,
            };
            let demo = demo.then_some(demo_orders as usize);
            match cluster {
                Some(cluster) => {
                    let args = tools::serve_cluster::ServeArgs { config, key_file, caches_mib: (cache_mib, record_cache_mib), demo, secrets: &secrets };
                    tools::serve_cluster::serve_cluster(args, cluster).map(|()| 0)
                }
                None => tools::serve::serve(config, key_file, (cache_mib, record_cache_mib), demo, &secrets).map(|()| 0),
            }
        }
        Command::Keygen { file } => crm_engine::write_key_file(&file)
            .map(|()| println!("wrote a new key to {} (mode 0600); keep it safe: without it the data cannot be read", file.display()))
            .map(|()| 0)
            .map_err(anyhow::Error::from),
        Command::Backup { login, name } => login.login(&secrets).and_then(|login| tools::remote::backup(&login, name.as_deref())).map(|()| 0),
        Command::Import { login, upsert, dry_run, rejects, kind, file } => {
            let mode = tools::import::Mode { upsert, dry_run };
            tools::import::import(|| login.login(&secrets), &kind, &file, mode, rejects.as_deref()).map(|finished| match finished {
                tools::import::Finished::AllImported => 0,
                tools::import::Finished::SomeRejected => EXIT_ROWS_REJECTED,
            })
        }
        Command::Tail { login, from, once } => login.login(&secrets).and_then(|login| tools::tail::tail(&login, from, once)).map(|()| 0),
        Command::Passwd { data, key_file, password_file, user } => {
            let new = tools::passwd::NewPassword { user: &user, file: password_file.as_deref() };
            tools::passwd::passwd(&data, key_file, new, &secrets).map(|()| 0)
        }
        Command::Verify { file, key_file } => tools::offline::verify(&file, key_file, &secrets).map(|()| 0),
        Command::Restore { file, data, key_file, forget } => tools::offline::restore(&file, &data, key_file, forget.as_deref(), &secrets).map(|()| 0),
        Command::Rekey { data, key_file, new_key_file } => tools::offline::rekey(&data, key_file, new_key_file, &secrets).map(|()| 0),
        Command::Upgrade { data, key_file } => tools::offline::upgrade(&data, key_file, &secrets).map(|()| 0),
    };
    match result {
        Ok(0) => {}
        Ok(status) => std::process::exit(status),
        Err(error) => {
            // One line, each cause said once, as the command-line contract asks.
            eprintln!("crm-server: {}", tools::one_line(&error));
            std::process::exit(1);
        }
    }
}
