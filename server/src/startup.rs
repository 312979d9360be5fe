//! Building and running the server; tests use the same path with port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{AppState, Clock, Live, SystemClock};
use crate::storage::{Storage, StorageError};

/// Largest request body any JSON endpoint accepts.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why the server did not start; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("demo users: {0}")]
    Users(#[from] crate::storage::UserError),
    #[error("{0}")]
    PublicUrl(String),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(
        "the contact key in {0} is not the one this database was set up with; give every relay sharing a database the same --contact-key-file"
    )]
    OtherContactKey(String),
    #[error("no random source for the relay's peer id: {0}")]
    Random(getrandom::Error),
    #[error("survey sending: {0}")]
    Outbox(String),
    #[error("cannot listen on {addr}: {source} (is another server using that port? try --port)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// All routes: sync socket, API, health check and the PWA.
pub fn app(state: AppState, dist: &Path) -> Router {
    Router::new()
        .route("/sync", get(crate::sync::socket::sync_socket))
        .route("/healthz", get(crate::http::healthz))
        .route("/metrics", get(crate::http::metrics))
        .nest("/api", crate::http::api())
        .merge(crate::http::public_pages::router())
        .merge(crate::http::static_files::router(dist))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::web_edge::guard,
        ))
        // Spans carry the path only: `/sync?token=…` must not put tokens in
        // logs; cut, since the client chose it.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let path = crate::sync::cut(req.uri().path(), 200);
                tracing::debug_span!("request", method = %req.method(), path = %path)
            }),
        )
        .with_state(state)
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    storage: Storage,
    relay_task: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl Application {
    /// Opens storage, starts the relay and binds the port.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with time from `clock` (tests set it).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let edge = crate::http::web_edge::WebEdge::new(
            config.public_url.as_deref(),
            config.metrics_token.clone(),
        )
        .map_err(StartError::PublicUrl)?
        .behind(config.trusted_proxies.clone());
        let storage = Storage::connect(config.database.as_deref(), &config.data_dir).await?;
        let vault = crate::vault::Vault::open_or_create(&config.contact_key_path())?;
        if !storage
            .same_contact_key(vault.check(), clock.now_ms())
            .await?
        {
            return Err(StartError::OtherContactKey(
                config.contact_key_path().display().to_string(),
            ));
        }
        let blobs = crate::blob_store::BlobStore::new(&storage, &config.data_dir);
        let moved = blobs.move_in_local_files().await?;
        if moved > 0 {
            tracing::info!(
                moved,
                "moved attachments kept on this relay's disk into the database"
            );
        }
        let sla = Live::new(storage.sla_config(clock.now_ms()).await?);
        let taxonomy = Live::new(storage.taxonomy(clock.now_ms()).await?);
        if config.demo_data {
            let seeded = crate::demo::seed_if_empty(&storage, clock.now_ms(), &sla.get()).await?;
            if seeded > 0 {
                tracing::info!(seeded, "stored demo records");
            }
            if crate::demo::seed_users_if_none(&storage, clock.now_ms()).await? {
                tracing::info!("created the demo users");
            }
        }
        let metrics = Arc::new(Metrics::default());
        let peer_id = crate::random::hex::<8>().map_err(StartError::Random)?;
        let (stored, stored_rx) = watch::channel(0);
        let (relay, relay_task) = crate::sync::spawn(crate::sync::RelayParts {
            storage: storage.clone(),
            peer_id: format!("closeloop-relay-{peer_id}"),
            metrics: metrics.clone(),
            memory_documents: config.memory_documents,
            idle: Duration::from_secs(config.idle_seconds),
            sockets_per_user: config.sockets_per_user,
            clock: clock.clone(),
            sla: sla.clone(),
            stored,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        crate::sync::other_relays::start(
            crate::sync::other_relays::SharedSettings {
                storage: storage.clone(),
                clock: clock.clone(),
                sla: sla.clone(),
                taxonomy: taxonomy.clone(),
            },
            relay.clone(),
            shutdown_rx.clone(),
        )
        .await?;
        crate::jobs::escalation::spawn(crate::jobs::escalation::Escalation {
            storage: storage.clone(),
            relay: relay.clone(),
            clock: clock.clone(),
            every: Duration::from_secs(config.escalation_seconds.max(1)),
            shutdown: shutdown_rx.clone(),
            metrics: metrics.clone(),
        });
        let survey_follow_ups = Arc::new(tokio::sync::Notify::new());
        crate::jobs::survey_follow_up::spawn(crate::jobs::survey_follow_up::SurveyFollowUp {
            storage: storage.clone(),
            relay: relay.clone(),
            clock: clock.clone(),
            wake: survey_follow_ups.clone(),
            every: Duration::from_secs(config.escalation_seconds.max(1)),
            shutdown: shutdown_rx.clone(),
        });
        let sessions = crate::sync::SessionWatch::default();
        crate::sync::sessions::spawn(crate::sync::sessions::Checker {
            watch: sessions.clone(),
            storage: storage.clone(),
            relay: relay.clone(),
            clock: clock.clone(),
            shutdown: shutdown_rx.clone(),
        });
        let state = AppState {
            blobs,
            metrics,
            relay,
            sessions,
            storage: storage.clone(),
            shutdown: shutdown_rx,
            clock,
            sla,
            taxonomy,
            logins: Arc::new(crate::login_guard::LoginGuard::new(
                config.password_queue,
                storage.clone(),
            )),
            edge: Arc::new(edge),
            stored: stored_rx,
            vault: Arc::new(vault),
            survey_follow_ups,
            public_limits: Arc::new(crate::rate_limit::PublicLimits::new(&storage)),
            survey_sending: Arc::default(),
        };
        crate::jobs::housekeeping::spawn(
            state.clone(),
            Duration::from_secs(config.housekeeping_seconds.max(1)),
        );
        let sending_state = state.clone();
        let sending_wake = state.survey_sending.clone();
        let router = app(state, &config.dist_dir);
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        crate::survey_sending::spawn(crate::survey_sending::SurveySending {
            state: sending_state,
            outbox: crate::survey_sending::outbox::Outbox::new(
                config.data_dir.join("outbox"),
                config.smtp_url.as_deref(),
                &config.mail_from,
            )
            .map_err(StartError::Outbox)?,
            base_url: match &config.public_url {
                Some(url) => url.clone(),
                None => format!("http://{}", listener.local_addr().unwrap_or(addr)),
            },
            wake: sending_wake,
            every: Duration::from_secs(config.escalation_seconds.max(1)),
            periodic_started: std::sync::Mutex::default(),
        });
        Ok(Self {
            listener,
            router,
            storage,
            relay_task,
            shutdown,
        })
    }

    /// The routes, for calling in-process (tests, without a socket).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Where the server listens (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Runs until Ctrl-C or SIGTERM, then finishes in-flight writes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Runs until `stop` completes; sockets are closed, the relay drains its
    /// queue and storage closes before this returns.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            router,
            storage,
            relay_task,
            shutdown,
        } = self;
        // The peer address counts failed sign-ins per client.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                stop.await;
                tracing::info!("shutting down");
                let _ = shutdown.send(true);
            })
            .await?;
        let _ = relay_task.await;
        storage.close().await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
