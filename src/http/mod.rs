//! `pi7 serve`: the original's web application over the same database the
//! command line uses — its pages, its REST API, and pi7's own JSON API and
//! live event stream beside them.
//!
//! Handlers only parse, call [`crate::app`], and render. SQLite is blocking,
//! so every use case runs on tokio's blocking pool: reads on a pool of
//! read connections (WAL lets them run beside a writer), writes on the one
//! write connection, one at a time, so that requests of this server never
//! contend for the write lock among themselves (another pi7 process still
//! may; the store retries busy transactions).

mod api;
mod body;
mod error;
pub mod html;
mod live;
mod pages;
mod rest;
pub mod svg;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::{broadcast, watch};

use crate::app::{self, Access, App, Diagnostic, Kind};
use crate::render;
pub use error::ApiError;

/// How to serve.
pub struct Config {
    pub db: PathBuf,
    /// `HOST:PORT`; port 0 picks a free one.
    pub addr: String,
    /// Writes need `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    pub options: app::Options,
}

/// What every handler shares.
pub struct Shared {
    db: PathBuf,
    options: app::Options,
    readers: Mutex<Vec<App>>,
    writer: Mutex<App>,
    token: Option<String>,
    /// New events, as the poller finds them in the log.
    live: broadcast::Sender<Arc<crate::domain::Envelope>>,
    /// The seq of the newest event broadcast on `live`.
    live_seq: AtomicU64,
    /// Becomes true when the server is stopping, so that endless streams end.
    stopping: watch::Receiver<bool>,
}

type AppState = Arc<Shared>;

impl Shared {
    fn live_seq(&self) -> u64 {
        self.live_seq.load(Ordering::Acquire)
    }

    /// Runs a read on a pooled read connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&App) -> app::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let shared = Arc::clone(self);
        blocking(move || {
            let pooled = shared.readers.lock().map(|mut p| p.pop()).ok().flatten();
            let app = match pooled {
                Some(app) => app,
                None => App::open(&shared.db, Access::Read, shared.options.clone())?,
            };
            let result = work(&app);
            if let Ok(mut pool) = shared.readers.lock() {
                pool.push(app);
            }
            result
        })
        .await
    }

    /// Runs a write on the write connection, one write at a time.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut App) -> app::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let shared = Arc::clone(self);
        blocking(move || {
            // A panic while writing cannot leave half a transaction behind
            // (SQLite rolls it back), so the connection is still good.
            let mut app = shared.writer.lock().unwrap_or_else(|p| p.into_inner());
            let result = work(&mut app);
            let diagnostics = app.take_diagnostics();
            drop(app);
            print_diagnostics(&shared.options, diagnostics);
            result
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> app::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(app::Error::new(Kind::Internal, format!("a request failed: {e}")).into()),
    }
}

/// The workflow log on stderr with `-v`, as the original's server logged.
fn print_diagnostics(options: &app::Options, diagnostics: Vec<Diagnostic>) {
    if !options.log {
        return;
    }
    let now = options.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let mut err = std::io::stderr().lock();
    for diagnostic in diagnostics {
        let _ = match diagnostic {
            Diagnostic::Log(line) => {
                writeln!(err, "{}", render::log_line(now, std::process::id(), &line))
            }
            Diagnostic::Note(note) => writeln!(err, "pi7: {note}"),
        };
    }
}

/// Serves until Ctrl-C or SIGTERM; requests in flight finish first.
pub fn serve(config: Config, err: &mut dyn Write) -> app::Result<()> {
    let addr = listen_address(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| app::Error::new(Kind::Internal, format!("cannot start: {e}")))?;
    runtime.block_on(run(config, addr, err))
}

/// Where to listen, refusing a non-loopback address without a token.
fn listen_address(config: &Config) -> app::Result<SocketAddr> {
    let usage = |message: String| app::Error::new(Kind::Usage, message);
    let addrs: Vec<SocketAddr> = config
        .addr
        .to_socket_addrs()
        .map_err(|e| usage(format!("--addr {}: {e} (give HOST:PORT)", config.addr)))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| usage(format!("--addr {} names no address", config.addr)))?;
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    if !loopback && config.token.as_deref().is_none_or(str::is_empty) {
        return Err(usage(format!(
            "--addr {} is reachable from other machines: give --token (or set PI7_TOKEN) so that every write needs it",
            config.addr
        )));
    }
    Ok(addr)
}

async fn run(config: Config, addr: SocketAddr, err: &mut dyn Write) -> app::Result<()> {
    // The write connection opens first: it creates the database when there
    // is none, so that the read connections see a file, not an empty stand-in.
    let writer = App::open(&config.db, Access::Write, config.options.clone())?;
    let last_seq = writer.last_seq()?;
    let (live, _) = broadcast::channel(1024);
    let (stop, stopping) = watch::channel(false);
    let shared = Arc::new(Shared {
        db: config.db.clone(),
        options: config.options,
        readers: Mutex::new(Vec::new()),
        writer: Mutex::new(writer),
        token: config.token.filter(|t| !t.is_empty()),
        live,
        live_seq: AtomicU64::new(last_seq),
        stopping,
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| app::Error::new(Kind::Usage, format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| app::Error::new(Kind::Internal, format!("no local address: {e}")))?;
    writeln!(
        err,
        "pi7: serving {} on http://{local}/ (Ctrl-C stops)",
        config.db.display()
    )?;
    err.flush()?;
    tokio::spawn(live::poll(Arc::clone(&shared), last_seq));
    let app = router(Arc::clone(&shared));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop_signal().await;
            let _ = stop.send(true);
        })
        .await
        .map_err(|e| app::Error::new(Kind::Internal, format!("the server failed: {e}")))?;
    writeln!(err, "pi7: stopped")?;
    Ok(())
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn router(shared: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(rest::routes())
        .merge(api::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            guard_writes,
        ))
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::http(
        axum::http::StatusCode::NOT_FOUND,
        Kind::NotFound.as_str(),
        "no such page or endpoint",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        Kind::Usage.as_str(),
        "this endpoint does not take that method",
    )
}

/// With a token, every write needs `Authorization: Bearer <token>`.
async fn guard_writes(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    ApiError::http(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this server takes writes only with Authorization: Bearer <its token>",
    )
    .into_response()
}

/// Compares without stopping at the first difference, so that the time a
/// refusal takes does not tell how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
