//! The `crm-server` command line: `serve`, `keygen`, `import`.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use crm_engine::{demo, Durability, KeySource, Options, Store};
use crm_server::state::{Config, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
        #[arg(long, value_enum, default_value = "sync")]
        durability: DurabilityArg,
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
    },
    /// Write a new random key file (mode 0600; never overwrites).
    Keygen { file: PathBuf },
    /// Ask a running server for a backup, with a progress bar (password: CRM_PASSWORD or prompt).
    Backup {
        #[arg(long, default_value = "127.0.0.1:7379")]
        connect: String,
        #[arg(long, default_value = "admin")]
        user: String,
        name: Option<String>,
    },
    /// Import a CSV file (customers, products or orders), cleaned client-side, and print the
    /// report (password: CRM_PASSWORD or prompt).
    Import {
        #[arg(long, default_value = "127.0.0.1:7379")]
        connect: String,
        #[arg(long, default_value = "admin")]
        user: String,
        kind: String,
        file: PathBuf,
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
    },
}

/// The largest cache either option accepts, 1 TiB: beyond any machine this runs on, and far from
/// the byte count overflowing.
const MAX_CACHE_MIB: u64 = 1 << 20;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { data, listen, key_file, backup_dir, durability, max_connections, idle_timeout, auth_timeout, cache_mib, record_cache_mib, demo, demo_orders } => {
            limit_malloc_arenas();
            let durability = match durability {
                DurabilityArg::Sync => Durability::Sync,
                DurabilityArg::Periodic => Durability::Periodic,
            };
            let backup_dir = backup_dir.unwrap_or_else(|| beside(&data, "backups"));
            let config = Config {
                data_dir: data,
                backup_dir,
                listen,
                durability,
                max_connections,
                idle_timeout: (idle_timeout > 0).then(|| Duration::from_secs(idle_timeout)),
                auth_timeout: (auth_timeout > 0).then(|| Duration::from_secs(auth_timeout)),
            };
            serve(config, key_file, (cache_mib, record_cache_mib), demo.then_some(demo_orders as usize))
        }
        Command::Keygen { file } => crm_engine::write_key_file(&file)
            .map(|()| println!("wrote a new key to {} (mode 0600); keep it safe: without it the data cannot be read", file.display()))
            .map_err(anyhow::Error::from),
        Command::Backup { connect, user, name } => tools::remote::backup(&connect, &user, name.as_deref()),
        Command::Import { connect, user, kind, file } => tools::import::import(&connect, &user, &kind, &file),
        Command::Verify { file, key_file } => tools::offline::verify(&file, key_file),
        Command::Restore { file, data, key_file } => tools::offline::restore(&file, &data, key_file),
    };
    if let Err(error) = result {
        // One line, as the command-line contract asks.
        eprintln!("crm-server: {}", format!("{error:#}").replace('\n', " "));
        std::process::exit(1);
    }
}

/// A path next to `data` (a sibling of the data folder).
fn beside(data: &Path, name: &str) -> PathBuf {
    let parent = data
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(name)
}

/// The key for `serve`: the key file, else the passphrase, else the development key file.
fn serve_key(data: &Path, key_file: Option<PathBuf>) -> anyhow::Result<KeySource> {
    if let Some(file) = key_file {
        return Ok(KeySource::File(file));
    }
    if let Ok(passphrase) = std::env::var("CRM_PASSPHRASE") {
        if passphrase.is_empty() {
            bail!("CRM_PASSPHRASE is set but empty");
        }
        return Ok(KeySource::Passphrase(zeroize::Zeroizing::new(passphrase)));
    }
    let name = format!(
        "{}.key",
        data.file_name()
            .map_or("crm-data".into(), |n| n.to_string_lossy().into_owned())
    );
    let file = beside(data, &name);
    if !file.exists() {
        crm_engine::write_key_file(&file)
            .with_context(|| format!("creating development key {}", file.display()))?;
    }
    eprintln!("################################################################################");
    eprintln!("WARNING: no --key-file and no CRM_PASSPHRASE: using the DEVELOPMENT key file");
    eprintln!("  {}", file.display());
    eprintln!("It lies next to the data it protects. This is NOT for production: give a key file");
    eprintln!("kept elsewhere (crm-server keygen FILE; --key-file FILE) or set CRM_PASSPHRASE.");
    eprintln!("################################################################################");
    Ok(KeySource::File(file))
}

/// glibc's malloc gives each thread that allocates its own arena (up to 8 per core) and seldom
/// returns their free pages. With tokio workers, rayon scans and sled's I/O threads, a server
/// holding 1,000,000 orders sat at 636 MiB resident after the analytics, and at 435 MiB with
/// two arenas (`benches/server-memory.sh`). The limit must be set before the process starts
/// (our code has no `unsafe` to call `mallopt`), so `serve` re-executes itself once, same PID
/// and arguments, with `MALLOC_ARENA_MAX=2` — unless the operator set a value.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let Ok(binary) = std::env::current_exe() else {
            return;
        };
        let error = std::process::Command::new(binary)
            .args(std::env::args_os().skip(1))
            .env("MALLOC_ARENA_MAX", "2")
            .exec();
        // `exec` returns only when it failed: serve with glibc's defaults.
        eprintln!("note: could not restart with MALLOC_ARENA_MAX=2 ({error}); continuing");
    }
}

/// `caches_mib`: sled's page cache and the record cache; `demo`: the number of demo orders to
/// load into an empty store.
fn serve(
    config: Config,
    key_file: Option<PathBuf>,
    (cache_mib, record_cache_mib): (u64, u64),
    demo: Option<usize>,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let key = serve_key(&config.data_dir, key_file)?;
    let options = Options {
        durability: config.durability,
        cache_capacity: cache_mib.saturating_mul(1024 * 1024),
        record_cache_bytes: record_cache_mib.saturating_mul(1024 * 1024),
        ..Options::default()
    };
    let store = Store::open(&config.data_dir, &key, &options)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    if let Some(demo_orders) = demo {
        let counts = store.counts()?;
        if counts.customers + counts.products + counts.orders == 0 {
            let (customers, products, orders) = demo::sizes_for(demo_orders);
            demo::generate(42, customers, products, orders).load_into(&store)?;
            tracing::info!(customers, products, orders, "loaded the demo data");
        } else {
            tracing::info!("the store is not empty: --demo leaves it alone");
        }
    }
    let from_env = std::env::var("CRM_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let generated = crm_server::auth::bootstrap_admin(&store, from_env)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            store.clone(),
            Config {
                listen: address.to_string(),
                ..config
            },
        ));
        println!("crm-server {} listening on {address}", crm_server::VERSION);
        match &generated {
            Some(password) => {
                println!("created user admin with password: {password}");
                println!("(shown once; set CRM_ADMIN_PASSWORD on first start to choose it)");
                println!(
                    "connect: redis-cli -h {} -p {} --user admin --pass {password}",
                    address.ip(),
                    address.port()
                );
            }
            None => println!(
                "connect: redis-cli -h {} -p {} --user admin --pass <password>",
                address.ip(),
                address.port()
            ),
        }
        crm_server::server::run(shared, listener, crm_server::server::shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    store.close()?;
    tracing::info!("stopped cleanly");
    Ok(())
}
