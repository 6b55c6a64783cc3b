//! The `dsmr-exporter` binary: wires the CLI, the source, the server and
//! the signals together. Everything it wires lives in the library.

use dsmr_exporter::cli::{self, LogConfig, LogFormat, Mode, ServeConfig};
use dsmr_exporter::dsmr::Zone;
use dsmr_exporter::metrics::MetricsOptions;
use dsmr_exporter::server::{self, ServerConfig};
use dsmr_exporter::source::Source;
use dsmr_exporter::state::{Meter, Meters};
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
        Mode::Check(serve) => {
            println!("{serve}");
            ExitCode::SUCCESS
        }
        Mode::Parse(input) => parse(input.as_deref(), cfg.zone),
        Mode::Backfill {
            input,
            meter,
            expose_equipment_ids,
        } => backfill(
            input.as_deref(),
            &dsmr_exporter::backfill::BackfillOptions {
                meter,
                zone: cfg.zone,
                expose_equipment_ids,
            },
        ),
        Mode::Serve(serve) => {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(format_args!("cannot start the async runtime: {e}")),
            };
            let code = rt.block_on(run(serve, cfg.zone));
            // Sources loop forever; do not wait long for them.
            rt.shutdown_timeout(Duration::from_secs(1));
            code
        }
    }
}

/// Runs the exporter until SIGINT or SIGTERM.
async fn run(cfg: ServeConfig, zone: Zone) -> ExitCode {
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => return fail(format_args!("cannot listen for signals: {e}")),
    };
    let source = match Source::prepare(cfg.source.clone()).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // A bad web config file stops the start, naming the line.
    let web = match &cfg.web_config_file {
        Some(path) => match dsmr_exporter::webconfig::WebConfig::load(path) {
            Ok(w) => Some(w),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let listener = match tokio::net::TcpListener::bind(&cfg.listen_address).await {
        Ok(l) => l,
        Err(e) => return fail(format_args!("cannot listen on {}: {e}", cfg.listen_address)),
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| cfg.listen_address.clone(), |a| a.to_string());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "serving metrics on http://{addr}{} for meter {} from {}",
        cfg.telemetry_path,
        cfg.meter,
        cfg.source
    );

    let meter = Meter::new(cfg.meter.clone(), zone);
    let meters = Meters::new(vec![meter.clone()]);
    tokio::spawn(source.run(meter));
    let server_cfg = ServerConfig {
        telemetry_path: cfg.telemetry_path.clone(),
        metrics: MetricsOptions {
            stale_after: cfg.stale_after,
            expose_equipment_ids: cfg.expose_equipment_ids,
        },
        web,
    };
    match server::serve(listener, meters, server_cfg, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format_args!("server failed: {e}")),
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
fn parse(input: Option<&Path>, zone: Zone) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match input {
        Some(path) => match std::fs::File::open(path) {
            Ok(mut f) => dsmr_exporter::inspect::run(&mut f, &mut out, zone),
            Err(e) => return fail(format_args!("cannot open {}: {e}", path.display())),
        },
        None => dsmr_exporter::inspect::run(&mut std::io::stdin().lock(), &mut out, zone),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `dsmr-exporter parse big.txt | head` is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn backfill(input: Option<&Path>, opts: &dsmr_exporter::backfill::BackfillOptions) -> ExitCode {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = match input {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => dsmr_exporter::backfill::run(&mut std::io::BufReader::new(f), &mut out, opts),
            Err(e) => return fail(format_args!("cannot open {}: {e}", path.display())),
        },
        None => dsmr_exporter::backfill::run(&mut std::io::stdin().lock(), &mut out, opts),
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
    match log.format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().init(),
    }
}
