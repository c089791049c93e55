//! `crm-server serve`: take the address, open (and if needed upgrade) the store, load the demo,
//! make the first admin, and serve until SIGINT or SIGTERM.

use super::secrets::Secrets;
use super::store_key::{store_key, DevKey};
use anyhow::Context;
use crm_engine::{demo, Options, Store};
use crm_server::state::{Config, Shared};
use std::path::PathBuf;
use std::sync::Arc;

/// Set in the re-executed image, so it does not re-execute again.
const REEXECUTED: &str = "CRM_REEXECUTED";

/// glibc's malloc gives each thread that allocates its own arena (up to 8 per core) and seldom
/// returns their free pages. With tokio workers, rayon scans and sled's I/O threads, a server
/// holding 1,000,000 orders sat at 636 MiB resident after the analytics, and at 435 MiB with
/// two arenas (`benches/server-memory.sh`). The limit must be set before the process starts
/// (our code has no `unsafe` to call `mallopt`), so `serve` re-executes itself once, same PID
/// and arguments, with `MALLOC_ARENA_MAX=2` — unless the operator set a value. It also
/// re-executes when secrets came in the environment, so that they leave it: the new image gets
/// them through a pipe (`secrets.rs`) and its `/proc/PID/environ` never shows them.
pub fn reexecute_if_needed(secrets: &Secrets) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(REEXECUTED).is_some() {
            std::env::remove_var(REEXECUTED);
            return;
        }
        let arenas_set = std::env::var_os("MALLOC_ARENA_MAX").is_some();
        if arenas_set && secrets.is_empty() {
            return;
        }
        let Ok(binary) = std::env::current_exe() else {
            return;
        };
        let mut command = std::process::Command::new(binary);
        command
            .args(std::env::args_os().skip(1))
            .env(REEXECUTED, "1");
        if !arenas_set {
            command.env("MALLOC_ARENA_MAX", "2");
        }
        for name in super::secrets::NAMES {
            command.env_remove(name);
        }
        let _pipe = if secrets.is_empty() {
            None
        } else {
            match secrets.hand_over() {
                Ok((pipe, (name, value))) => {
                    command.env(name, value);
                    Some(pipe)
                }
                Err(error) => {
                    eprintln!("note: could not hand the secrets over ({error}); serving without restarting");
                    return;
                }
            }
        };
        let error = command.exec();
        // `exec` returns only when it failed: serve as we are.
        eprintln!("note: could not restart with MALLOC_ARENA_MAX=2 ({error}); continuing");
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = secrets;
}

/// `caches_mib`: sled's page cache and the record cache; `demo`: the number of demo orders to
/// load into an empty store.
pub fn serve(
    config: Config,
    key_file: Option<PathBuf>,
    (cache_mib, record_cache_mib): (u64, u64),
    demo: Option<usize>,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    super::logging::init();
    // The address first: a port that is taken must stop `serve` before it creates the store,
    // its development key and an `admin` whose password it would never get to print.
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let key = store_key(&config.data_dir, key_file, secrets, DevKey::Create)?;
    let options = Options {
        durability: config.durability,
        cache_capacity: cache_mib.saturating_mul(1024 * 1024),
        record_cache_bytes: record_cache_mib.saturating_mul(1024 * 1024),
        ..Options::default()
    };
    let store = open_store(&config, &key, &options)?;
    load_demo(&store, demo)?;
    let from_env = secrets
        .get("CRM_ADMIN_PASSWORD")
        .map(|p| zeroize::Zeroizing::new(p.to_string()));
    let generated = crm_server::auth::bootstrap_admin(&store, from_env)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            store.clone(),
            Config {
                listen: address.to_string(),
                ..config
            },
        ));
        println!("crm-server {} listening on {address}", crm_server::VERSION);
        print_way_in(address, generated.as_deref());
        crm_server::server::run(shared, listener, crm_server::server::shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    store.close()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Opens the store, upgrading an older layout in place (said in the log).
pub(super) fn open_store(
    config: &Config,
    key: &crm_engine::KeySource,
    options: &Options,
) -> anyhow::Result<Store> {
    Store::open_reporting(&config.data_dir, key, options, &|progress| {
        if progress.done == 0 {
            tracing::info!(
                from = progress.from,
                to = progress.to,
                entries = progress.total,
                "the store is in an older layout: upgrading it in place"
            );
        } else if progress.done == progress.total {
            tracing::info!(layout = progress.to, "upgrade done");
        }
    })
    .with_context(|| format!("opening the store in {}", config.data_dir.display()))
}

/// `--demo`: fills an empty store with `demo` orders' worth of demo data.
pub(super) fn load_demo(store: &Store, demo: Option<usize>) -> anyhow::Result<()> {
    if let Some(demo_orders) = demo {
        let counts = store.counts()?;
        if counts.customers + counts.products + counts.orders == 0 {
            let (customers, products, orders) = demo::sizes_for(demo_orders);
            demo::generate(42, customers, products, orders).load_into(store)?;
            tracing::info!(customers, products, orders, "loaded the demo data");
        } else {
            tracing::info!("the store is not empty: --demo leaves it alone");
        }
    }
    Ok(())
}

/// The "printed way in": where the server listens and how to log in.
pub(super) fn print_way_in(address: std::net::SocketAddr, generated: Option<&str>) {
    println!("crm-server {} listening on {address}", crm_server::VERSION);
    match generated {
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
}
