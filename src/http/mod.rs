//! `pi7 serve`: the original's web application over the same database the
//! command line uses — its pages, its REST API, and pi7's own JSON API and
//! live event stream beside them.
//!
//! Handlers only parse, call [`crate::app`], and render. SQLite is blocking,
//! so no use case runs on the async threads: reads run on tokio's blocking
//! pool, each on a pooled read connection (WAL lets them run beside a
//! writer); writes go to one writer thread that owns the write connection,
//! so that requests of this server never contend for the write lock among
//! themselves (another pi7 process still may; the store retries busy
//! transactions). The writer takes every write waiting when it gets to
//! them and commits them together ([`App::group`]): each is still all or
//! nothing, and under load a commit is paid once per group, not per write.

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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

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
    /// Whether a small read may run on the async threads (SQLite: a local
    /// file; PostgreSQL's client may not block there).
    inline_reads: bool,
    /// The writer thread's queue.
    writes: mpsc::Sender<Job>,
    token: Option<String>,
    /// New events, as the poller finds them in the log.
    live: broadcast::Sender<Arc<crate::domain::Envelope>>,
    /// The seq of the newest event broadcast on `live`.
    live_seq: AtomicU64,
    /// Becomes true when the server is stopping, so that endless streams end.
    stopping: watch::Receiver<bool>,
}

type AppState = Arc<Shared>;

/// A write waiting for the writer thread: it runs on the write connection
/// and returns how to answer its caller once its group's commit is known.
type Job = Box<dyn FnOnce(&mut App) -> Answer + Send>;

/// Answers a write's caller: with what the write returned when its group
/// committed, or with why the commit failed.
type Answer = Box<dyn FnOnce(Option<&app::Error>) + Send>;

/// The most writes one commit takes: enough that a crowd of clients shares
/// a few commits, few enough that a CLI waiting for the lock is not kept
/// waiting long.
const MAX_GROUP: usize = 64;

/// The writer thread: takes the writes as they come, all those waiting at
/// once, until the server is gone.
fn write_loop(mut app: App, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // When the lock cannot be had for the group, each write tries on
        // its own and says for itself that the database stayed busy.
        if group.len() > 1 && app.begin_group().is_ok() {
            let answers: Vec<Answer> = group.drain(..).map(|job| job(&mut app)).collect();
            let failed = app.end_group().err();
            for answer in answers {
                answer(failed.as_ref());
            }
        }
        for job in group {
            job(&mut app)(None);
        }
    }
}

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
            let result = app.snapshot(work);
            if let Ok(mut pool) = shared.readers.lock() {
                pool.push(app);
            }
            result
        })
        .await
    }

    /// Runs a read of one thing (a document, a process: nothing a client
    /// can make large) right away on the async thread when the database is
    /// a local file: it takes tens of microseconds, less than handing it to
    /// a blocking thread and back costs in thread wake-ups, which were a
    /// third of the server's time under load. Anything else goes through
    /// [`read`](Self::read).
    pub async fn read_small<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&App) -> app::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let pooled = self
            .inline_reads
            .then(|| self.readers.lock().map(|mut p| p.pop()).ok().flatten())
            .flatten();
        let Some(app) = pooled else {
            // No connection open yet (opening one takes milliseconds), or
            // PostgreSQL.
            return self.read(work).await;
        };
        let result = app.snapshot(work);
        if let Ok(mut pool) = self.readers.lock() {
            pool.push(app);
        }
        result.map_err(ApiError::from)
    }

    /// Runs a write on the writer thread, which commits it with the other
    /// writes waiting beside it; answers once that commit is known.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut App) -> app::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let options = self.options.clone();
        let job: Job = Box::new(move |app| {
            // A panic inside a write leaves no half transaction behind (its
            // savepoint or transaction rolls back as it unwinds), so the
            // connection and the rest of its group are still good.
            let result = catch_unwind(AssertUnwindSafe(|| work(app))).unwrap_or_else(|_| {
                Err(app::Error::new(
                    Kind::Internal,
                    "a request failed: pi7 panicked while writing",
                ))
            });
            let diagnostics = app.take_diagnostics();
            Box::new(move |failed: Option<&app::Error>| {
                let result = match failed {
                    Some(e) => Err(app::Error::new(e.kind, e.message())),
                    None => result,
                };
                print_diagnostics(&options, diagnostics);
                let _ = answer.send(result);
            })
        });
        let stopped =
            || -> ApiError { app::Error::new(Kind::Internal, "the writer has stopped").into() };
        self.writes.send(job).map_err(|_| stopped())?;
        answered
            .await
            .map_err(|_| stopped())?
            .map_err(ApiError::from)
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
    // The connections open before the runtime starts and close after it
    // stopped: PostgreSQL's client runs a runtime of its own, which can
    // neither start nor stop on the runtime's threads. The write connection
    // opens first: it creates the database when there is none, so that the
    // read connections see a file, not an empty stand-in.
    let mut writer = App::open(&config.db, Access::Write, config.options.clone())?;
    // Beside the writer rather than in its way: on two cores, its commits
    // were a third slower while it copied pages into the database itself.
    // Dropped with the writer, so that its connection, the last to close,
    // checkpoints the WAL into the database before pi7 says it stopped.
    writer.checkpoint_in_background()?;
    let last_seq = writer.last_seq()?;
    // Never the --db value as given: a PostgreSQL URL may hold a password.
    let shown = writer.name();
    let inline_reads = writer.reads_locally();
    let (writes, jobs) = mpsc::channel();
    let writer = std::thread::Builder::new()
        .name("pi7-writer".into())
        .spawn(move || write_loop(writer, jobs))
        .map_err(|e| app::Error::new(Kind::Internal, format!("cannot start the writer: {e}")))?;
    let (live, _) = broadcast::channel(1024);
    let (stop, stopping) = watch::channel(false);
    let shared = Arc::new(Shared {
        db: config.db.clone(),
        options: config.options,
        readers: Mutex::new(Vec::new()),
        inline_reads,
        writes,
        token: config.token.filter(|t| !t.is_empty()),
        live,
        live_seq: AtomicU64::new(last_seq),
        stopping,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| app::Error::new(Kind::Internal, format!("cannot start: {e}")))?;
    let served = runtime.block_on(run(Arc::clone(&shared), stop, addr, &shown, err));
    // Every task's share of `shared` goes with the runtime; the last one,
    // dropped here, closes the read connections and ends the writer.
    drop(runtime);
    drop(shared);
    let _ = writer.join();
    served?;
    writeln!(err, "pi7: stopped")?;
    Ok(())
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

async fn run(
    shared: AppState,
    stop: watch::Sender<bool>,
    addr: SocketAddr,
    shown: &str,
    err: &mut dyn Write,
) -> app::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| app::Error::new(Kind::Usage, format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| app::Error::new(Kind::Internal, format!("no local address: {e}")))?;
    writeln!(
        err,
        "pi7: serving {} on http://{local}/ (Ctrl-C stops)",
        shown
    )?;
    err.flush()?;
    tokio::spawn(live::poll(Arc::clone(&shared), shared.live_seq()));
    let app = router(Arc::clone(&shared));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop_signal().await;
            let _ = stop.send(true);
        })
        .await
        .map_err(|e| app::Error::new(Kind::Internal, format!("the server failed: {e}")))
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
