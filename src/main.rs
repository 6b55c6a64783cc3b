//! The `dsmr-exporter` binary: wires the CLI, the source, the server and
//! the signals together. Everything it wires lives in the library.

use dsmr_engine::Zone;
use dsmr_exporter::capacity;
use dsmr_exporter::cli::{self, LogConfig, LogFormat, MeterConfig, Mode, ServeConfig};
use dsmr_exporter::http::{self, Lifecycle, ServerConfig, WebConfig};
use dsmr_exporter::metrics::MetricsOptions;
use dsmr_exporter::source::Source;
use dsmr_exporter::supervise::{self, Reread, Supervisor};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cfg = match cli::load() {
        Ok(c) => c,
        Err(e) => return e.report(),
    };
    init_tracing(&cfg.log);
    match cfg.mode {
        // Opens every file a start would (replay files, the web config and
        // the certificates it names), so it fails exactly when a start would.
        Mode::Check(serve) => {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(format_args!("cannot start the async runtime: {e}")),
            };
            match rt.block_on(prepare(&serve)) {
                Ok(_) => {
                    println!("{serve}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Mode::Parse {
            input,
            mask_ids,
            raw,
        } => parse(
            input.as_deref(),
            cfg.zone,
            dsmr_exporter::cmd::parse::ParseOptions { mask_ids, raw },
        ),
        Mode::HomewizardPair(pair) => homewizard_pair(&pair),
        Mode::Backfill {
            input,
            meter,
            expose_equipment_ids,
        } => backfill(
            input.as_deref(),
            &dsmr_exporter::cmd::backfill::BackfillOptions {
                meter,
                zone: cfg.zone,
                expose_equipment_ids,
            },
        ),
        Mode::Serve(serve) => {
            tune_malloc();
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(format_args!("cannot start the async runtime: {e}")),
            };
            let code = rt.block_on(run(serve));
            // Sources loop forever; do not wait long for them.
            rt.shutdown_timeout(Duration::from_secs(1));
            code
        }
    }
}

/// Runs the exporter until SIGINT or SIGTERM: every meter's source
/// prepared first (so a bad replay file stops the start, not half of it),
/// the listener bound, then the supervisor's one task per meter (on the
/// meters' own thread, `supervise::runtime`), all
/// feeding the `Live` set of meters that the one server renders. SIGHUP
/// (and `POST /-/reload` with `--web.enable-lifecycle`) reloads `--config`.
async fn run(cfg: ServeConfig) -> ExitCode {
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => return fail(format_args!("cannot listen for signals: {e}")),
    };
    let (lifecycle, reload_requests) = Lifecycle::channel();
    if let Err(e) = supervise::reload_on_sighup(lifecycle.clone()) {
        return fail(format_args!("cannot listen for SIGHUP: {e}"));
    }
    raise_open_file_limit(cfg.meters.len());
    let (prepared, web) = match prepare(&cfg).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let listeners = match listeners(&cfg).await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    log_listeners(
        &cfg,
        &listeners,
        web.as_ref().is_some_and(|w| w.tls().is_some()),
    );
    let prepared = prepared
        .into_iter()
        .map(|(m, s, c)| (m.clone(), s, c))
        .collect();
    // The exporter-wide limit only matters for meters without their own,
    // and every meter has one; the longest is the safe fallback.
    let stale_after = cfg
        .meters
        .iter()
        .map(|m| m.stale_after)
        .max()
        .unwrap_or(Duration::from_secs(60));
    // From here each running meter holds its own configuration: a second
    // copy of 10 000 meters' would be megabytes kept for nothing.
    let cfg = ServeConfig {
        meters: Vec::new(),
        ..cfg
    };
    let reread: Option<Reread> = cfg
        .config_file
        .is_some()
        .then(|| Box::new(reread) as Reread);
    let meters_runtime = match supervise::MeterRuntime::start() {
        Ok(rt) => rt,
        Err(e) => return fail(format_args!("cannot start the meters' runtime: {e}")),
    };
    let supervisor = Supervisor::start(cfg.clone(), prepared, reread, meters_runtime).await;
    let live = supervisor.live();
    let costs = supervisor.costs();
    tokio::spawn(supervisor.run(reload_requests));
    let server_cfg = ServerConfig {
        telemetry_path: cfg.telemetry_path.clone(),
        metrics: MetricsOptions {
            stale_after,
            expose_equipment_ids: cfg.expose_equipment_ids,
        },
        web,
        exporter_metrics: cfg.exporter_metrics,
        lifecycle: cfg.enable_lifecycle.then_some(lifecycle),
    };
    let served = http::serve_listeners(
        listeners,
        live,
        server_cfg,
        http::Limits::default(),
        shutdown,
    )
    .await;
    // The cost so far, for the next start to go on from.
    if let Some(c) = costs {
        c.save();
    }
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format_args!("server failed: {e}")),
    }
}

/// The configuration as a start would read it now (argv, environment and
/// the `--config` file), for a reload.
fn reread() -> Result<ServeConfig, String> {
    match cli::load() {
        Ok(cli::Config {
            mode: Mode::Serve(s),
            ..
        }) => Ok(s),
        Ok(_) => Err("the command line no longer runs the exporter".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The sockets to serve on: systemd's (`--web.systemd-socket`) or one
/// bound per `--web.listen-address`.
async fn listeners(cfg: &ServeConfig) -> Result<Vec<tokio::net::TcpListener>, String> {
    match cfg.systemd_sockets {
        Some(n) => http::listen::systemd(n),
        None => http::listen::bind(&cfg.listen_addresses).await,
    }
}

/// One "serving metrics on" line per listener, with the scheme clients
/// must use.
fn log_listeners(cfg: &ServeConfig, listeners: &[tokio::net::TcpListener], tls: bool) {
    let scheme = if tls { "https" } else { "http" };
    for l in listeners {
        let addr = l
            .local_addr()
            .map_or_else(|e| format!("<{e}>"), |a| a.to_string());
        let path = &cfg.telemetry_path;
        match cfg.meters.as_slice() {
            [one] => tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                "serving metrics on {scheme}://{addr}{path} for meter {} from {}",
                one.name,
                one.source
            ),
            many => tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                "serving metrics on {scheme}://{addr}{path} for {} meters",
                many.len()
            ),
        }
    }
}

/// A meter's config, its source made ready and its capacity tracker.
type Prepared<'a> = (&'a MeterConfig, Source, capacity::Tracker);

/// What a start opens before it serves: every meter's source made ready
/// (a replay file opened and checked, the capacity state file read) and
/// the web config file read, with
/// the certificates, key and client CA it names. `--check-config` runs
/// this too, so it fails exactly when a start would.
async fn prepare(cfg: &ServeConfig) -> Result<(Vec<Prepared<'_>>, Option<WebConfig>), String> {
    let mut prepared = Vec::with_capacity(cfg.meters.len());
    for m in &cfg.meters {
        let source = Source::prepare(m.source.clone())
            .await
            .map_err(|e| format!("meter {}: {e}", m.name))?;
        let capacity =
            capacity::load_tracker(&m.capacity).map_err(|e| format!("meter {}: {e}", m.name))?;
        prepared.push((m, source, capacity));
    }
    // A bad web config file stops the start, naming the line.
    let web = match &cfg.web_config_file {
        Some(path) => Some(WebConfig::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok((prepared, web))
}

/// Caps glibc's malloc at two arenas and fixes its mmap threshold at
/// 4 MiB, before any other thread starts.
///
/// By default each thread that finds its arena busy gets a new one, up to
/// eight per core, and memory freed into one arena is not reused by threads
/// of another: with 10 000 meters on the runtime's workers and a scrape's
/// render and gzip threads, the exporter kept 203 MiB resident, capped at
/// two 145 to 172 MiB, at the same CPU (docs/scale.md). The default mmap
/// threshold also rises after each large free, up to 32 MiB, so a scrape's
/// largest buffers (its 10 MB gzip body, freed once sent) came to sit in
/// the arenas; fixed at 4 MiB they are always mapped on their own and
/// returned when freed: 145.2 to 145.4 MiB over three runs. Other
/// allocators (musl's) have neither.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator tunables; both take any positive
    // value, and no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// Each TCP meter holds a socket and each scrape a connection; 1 000
/// meters pass the common soft limit of 1 024 open files. Raise the soft
/// limit towards the hard one when it is short; warn if it stays short.
fn raise_open_file_limit(meters: usize) {
    // Meters, plus the server's connection cap, plus room for logs and files.
    let want = (meters as u64).saturating_add(256 + 64);
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => tracing::warn!(
            "open-file limit is {got}, {meters} meters may need {want}: raise it (ulimit -n, systemd LimitNOFILE=)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
}

/// Completes on the first SIGINT or SIGTERM. The handlers are installed
/// before this returns, so a signal that arrives early is not lost.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        tracing::info!("{name} received, shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received, shutting down");
        } else {
            std::future::pending::<()>().await;
        }
    })
}

/// The `parse` command: telegrams from a file or stdin, an account on stdout.
fn parse(
    input: Option<&Path>,
    zone: Zone,
    opts: dsmr_exporter::cmd::parse::ParseOptions,
) -> ExitCode {
    use dsmr_exporter::cmd::parse::run_with;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match input {
        Some(path) => match std::fs::File::open(path) {
            Ok(mut f) => run_with(&mut f, &mut out, zone, opts),
            Err(e) => return fail(format_args!("cannot open {}: {e}", path.display())),
        },
        None => run_with(&mut std::io::stdin().lock(), &mut out, zone, opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `dsmr-exporter parse big.txt | head` is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn backfill(
    input: Option<&Path>,
    opts: &dsmr_exporter::cmd::backfill::BackfillOptions,
) -> ExitCode {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = match input {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => {
                dsmr_exporter::cmd::backfill::run(&mut std::io::BufReader::new(f), &mut out, opts)
            }
            Err(e) => return fail(format_args!("cannot open {}: {e}", path.display())),
        },
        None => dsmr_exporter::cmd::backfill::run(&mut std::io::stdin().lock(), &mut out, opts),
    };
    match result {
        Ok(stats) => {
            eprintln!("dsmr-exporter: backfill: {stats:?}");
            ExitCode::SUCCESS
        }
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The `homewizard pair` command, on a small runtime of its own.
fn homewizard_pair(cfg: &dsmr_exporter::source::homewizard::pair::PairConfig) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format_args!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(dsmr_exporter::cmd::homewizard_pair::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Prints one clear error line and gives the failure exit code.
fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("dsmr-exporter: error: {e}");
    ExitCode::FAILURE
}

fn init_tracing(log: &LogConfig) {
    // The filter was checked by the CLI; fall back to info all the same.
    let filter = tracing_subscriber::EnvFilter::try_new(&log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // When stderr is gone (a closed pipe), tracing would report the failed
    // write with `eprintln!`, which panics and kills the task that logged:
    // a source would stop feeding its meter. Losing log lines is better.
    match log.format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .log_internal_errors(false)
            .init(),
        LogFormat::Json => builder.json().log_internal_errors(false).init(),
    }
}
