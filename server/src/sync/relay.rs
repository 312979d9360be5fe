//! The relay task: the IO edge of [`RelayCore`]. It gathers inputs that
//! arrive together into a batch, executes the core's tasks (load, commit,
//! send, close) against storage and sockets in order, and feeds the results
//! back. Every rule lives in the core; nothing here decides.
//!
//! Each step of the core runs on the core's own thread, not on a runtime
//! worker: applying a burst of changes takes milliseconds per document, and
//! the workers must stay free for sockets and HTTP (`/healthz` keeps
//! answering while a large batch is applied).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use closeloop_shared::access::Principal;
use closeloop_shared::relay::{Counters, Input, RelayCore, Task};
use closeloop_shared::sla::SlaConfig;

use crate::state::Live;
use closeloop_shared::sync::{ConnectionId, DocumentId, Message};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::state::Clock;
use crate::storage::Storage;

/// Frames waiting for one slow socket before the relay gives up on it.
pub(crate) const OUTBOX_FRAMES: usize = 1024;

/// Inputs waiting for the relay task; when full, sockets wait before
/// reading more (backpressure), so a burst queues on the network, not in
/// server memory.
const INPUT_QUEUE: usize = 1024;

/// How often a quiet relay looks for idle documents to evict.
const IDLE_SWEEP: Duration = Duration::from_secs(5);

/// Inputs handled before their changes are committed together.
const BATCH_INPUTS: usize = 256;

/// What the relay tells one socket's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Frame(Vec<u8>),
    Close(String),
}

/// What sockets and the other-relay listener tell the relay.
pub(crate) enum RelayInput {
    Connect {
        conn: ConnectionId,
        out: mpsc::Sender<Outgoing>,
        principal: Principal,
        /// The id of the session it was opened with.
        session: String,
        /// The user's open assigned records, offered once it joins.
        assigned: Vec<DocumentId>,
    },
    /// A frame from a socket, decoded there (or why it does not decode).
    Frame {
        conn: ConnectionId,
        bytes: usize,
        message: Result<Message, String>,
    },
    Disconnect {
        conn: ConnectionId,
    },
    /// Another relay sharing the database stored a change to this document.
    StoredElsewhere {
        document_id: DocumentId,
    },
    /// Notifications may have been missed: re-read every document in memory.
    RefreshAll,
    /// The document was erased from storage (re-created under a new id).
    Erased {
        document_id: DocumentId,
    },
    /// These sessions ended: close their sockets with `reason`.
    SessionsEnded {
        sessions: Vec<String>,
        reason: String,
    },
    /// Someone was notified (here or through another relay): open pages
    /// re-read their notifications.
    Notified,
}

/// A cheap handle sockets use to reach the relay task.
#[derive(Clone)]
pub(crate) struct RelayHandle {
    tx: mpsc::Sender<RelayInput>,
    next_conn: Arc<AtomicU64>,
    /// Open sockets per user id, so one account cannot hold unbounded
    /// connections (each costs buffers and sync states).
    sockets: Arc<Mutex<HashMap<i64, usize>>>,
    sockets_per_user: usize,
}

/// One of a user's sockets; the count drops with it.
pub(crate) struct SocketClaim {
    sockets: Arc<Mutex<HashMap<i64, usize>>>,
    user_id: i64,
}

impl Drop for SocketClaim {
    fn drop(&mut self) {
        let mut open = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

impl RelayHandle {
    /// Counts a new socket for the user; `None` when they hold the most
    /// allowed already.
    pub(crate) fn claim_socket(&self, user_id: i64) -> Option<SocketClaim> {
        let mut open = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(user_id).or_default();
        if *n >= self.sockets_per_user {
            return None;
        }
        *n += 1;
        Some(SocketClaim {
            sockets: self.sockets.clone(),
            user_id,
        })
    }

    /// A fresh id for a new socket.
    pub(crate) fn next_conn(&self) -> ConnectionId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands an input to the relay; false once the relay has stopped.
    pub(crate) async fn send(&self, input: RelayInput) -> bool {
        self.tx.send(input).await.is_ok()
    }
}

/// What the relay task is built from.
pub(crate) struct RelayParts {
    pub storage: Storage,
    /// How the relay names itself in the protocol.
    pub peer_id: String,
    pub metrics: Arc<Metrics>,
    /// At most this many documents in memory.
    pub memory_documents: usize,
    /// None idle longer than this.
    pub idle: Duration,
    pub clock: Arc<dyn Clock>,
    /// Due times in the projection rows it writes.
    /// The SLA settings projected clocks are computed with (admins change them live).
    pub sla: Live<SlaConfig>,
    /// Sync sockets one user may hold open at once.
    pub sockets_per_user: usize,
    /// Counts stored changes (here or by another relay), for the
    /// inboxes' server push (`/api/events`).
    pub stored: watch::Sender<u64>,
}

/// Starts the relay task; it ends when every handle is dropped and its
/// queue is drained, so in-flight writes finish on shutdown.
pub(crate) fn spawn(parts: RelayParts) -> (RelayHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(INPUT_QUEUE);
    let handle = RelayHandle {
        tx,
        next_conn: Arc::new(AtomicU64::new(1)),
        sockets: Arc::default(),
        sockets_per_user: parts.sockets_per_user,
    };
    let idle_ms = u64::try_from(parts.idle.as_millis()).unwrap_or(u64::MAX);
    let core = Arc::new(Mutex::new(
        RelayCore::new(parts.peer_id, parts.memory_documents, idle_ms)
            .with_shared_storage(parts.storage.backend() == crate::storage::Backend::Postgres),
    ));
    let relay = Relay {
        jobs: core_thread(core.clone()),
        core,
        outboxes: HashMap::new(),
        storage: parts.storage,
        metrics: parts.metrics,
        clock: parts.clock,
        sla: parts.sla,
        started: Instant::now(),
        reported: Counters::default(),
        dropped: Vec::new(),
        stored: parts.stored,
    };
    (handle, tokio::spawn(relay.run(rx)))
}

/// One step of the core, run on its own thread.
type Job = Box<dyn FnOnce(&mut RelayCore) + Send>;

/// The core's own thread: its steps run off the async workers, always on
/// the same thread (cheaper than a blocking-pool hop per step, and one
/// allocator arena). `None` if the thread could not start: steps then go
/// to the blocking pool.
fn core_thread(core: Arc<Mutex<RelayCore>>) -> Option<std::sync::mpsc::Sender<Job>> {
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("relay-core".into())
        .spawn(move || {
            while let Ok(job) = queue.recv() {
                job(&mut core.lock().unwrap_or_else(PoisonError::into_inner));
            }
        })
        .ok()
        .map(|_| jobs)
}

struct Relay {
    /// Locked only by one step at a time, on the core's thread, and
    /// briefly by [`Relay::report`].
    core: Arc<Mutex<RelayCore>>,
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    outboxes: HashMap<ConnectionId, mpsc::Sender<Outgoing>>,
    storage: Storage,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    sla: Live<SlaConfig>,
    /// The core's monotonic time starts here.
    started: Instant,
    /// The core's counters as last added to the metrics.
    reported: Counters,
    /// Sockets given up on (too slow); the core hears of it next batch.
    dropped: Vec<ConnectionId>,
    stored: watch::Sender<u64>,
}

impl Relay {
    async fn run(mut self, mut rx: mpsc::Receiver<RelayInput>) {
        let mut batch = Vec::with_capacity(BATCH_INPUTS);
        loop {
            match tokio::time::timeout(IDLE_SWEEP, rx.recv()).await {
                Ok(Some(input)) => batch.push(input),
                Ok(None) => break,
                Err(_) => {
                    let now = self.now();
                    let tasks = self.step(move |core| core.tick(now)).await;
                    self.execute(tasks).await;
                    self.report();
                    continue;
                }
            }
            while batch.len() < BATCH_INPUTS {
                match rx.try_recv() {
                    Ok(input) => batch.push(input),
                    Err(_) => break,
                }
            }
            let inputs = self.accept(batch.drain(..));
            let now = self.now();
            let tasks = self.step(move |core| core.batch(inputs, now)).await;
            self.execute(tasks).await;
            self.report();
        }
        tracing::info!("relay stopped");
    }

    /// Runs one step of the core on its thread (see the module docs).
    /// A panic in the core ends the relay task, as it did on the worker.
    async fn step<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut RelayCore) -> T + Send + 'static,
    ) -> T {
        if let Some(jobs) = &self.jobs {
            let (done, answer) = tokio::sync::oneshot::channel();
            let job: Job = Box::new(move |core| {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(core)));
                let _ = done.send(out);
            });
            let answered = match jobs.send(job) {
                Ok(()) => answer.await.ok(),
                Err(_) => None,
            };
            return match answered {
                Some(Ok(out)) => out,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                // The thread is gone: nothing can run the core any more.
                None => std::panic::resume_unwind(Box::new("the relay core's thread ended")),
            };
        }
        let core = self.core.clone();
        let ran = tokio::task::spawn_blocking(move || {
            f(&mut core.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await;
        match ran {
            Ok(out) => out,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Milliseconds on the core's monotonic clock.
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Turns socket inputs into core inputs, keeping the outboxes here.
    fn accept(&mut self, batch: impl Iterator<Item = RelayInput>) -> Vec<Input> {
        let mut inputs: Vec<Input> = std::mem::take(&mut self.dropped)
            .into_iter()
            .map(|conn| Input::Disconnect { conn })
            .collect();
        for input in batch {
            inputs.push(match input {
                RelayInput::Connect {
                    conn,
                    out,
                    principal,
                    session,
                    assigned,
                } => {
                    self.outboxes.insert(conn, out);
                    Input::Connect {
                        conn,
                        principal,
                        session,
                        assigned,
                    }
                }
                RelayInput::Frame {
                    conn,
                    bytes,
                    message,
                } => {
                    Metrics::add(&self.metrics.bytes_in, bytes as u64);
                    if let Err(e) = &message {
                        tracing::info!(conn, error = %super::cut(e, LOGGED_TEXT_BYTES), "rejected a malformed frame");
                    }
                    Input::Frame { conn, message }
                }
                RelayInput::Disconnect { conn } => {
                    self.outboxes.remove(&conn);
                    Input::Disconnect { conn }
                }
                RelayInput::StoredElsewhere { document_id } => {
                    // Another relay wrote the projection too.
                    self.stored.send_modify(|n| *n += 1);
                    Input::StoredElsewhere { document_id }
                }
                RelayInput::RefreshAll => {
                    self.stored.send_modify(|n| *n += 1);
                    Input::RefreshAll
                }
                RelayInput::Erased { document_id } => {
                    self.stored.send_modify(|n| *n += 1);
                    Input::Erased { document_id }
                }
                RelayInput::SessionsEnded { sessions, reason } => {
                    Input::SessionsEnded { sessions, reason }
                }
                RelayInput::Notified => {
                    // Nothing for the core: open pages re-read their bell.
                    self.stored.send_modify(|n| *n += 1);
                    continue;
                }
            });
        }
        inputs
    }

    /// Runs tasks in order; loads and commits feed their results back to
    /// the core, whose answer runs next.
    async fn execute(&mut self, tasks: Vec<Task>) {
        let mut queue: VecDeque<Task> = tasks.into();
        while let Some(task) = queue.pop_front() {
            match task {
                Task::Send { conn, frame } => self.deliver(conn, Outgoing::Frame(frame)),
                Task::Close { conn, reason } => {
                    self.deliver(conn, Outgoing::Close(reason));
                    // The socket's writer ends after the close; its reader
                    // reports the disconnect, which the core already knows.
                    self.outboxes.remove(&conn);
                }
                Task::Refused {
                    conn,
                    user,
                    document_id,
                    code,
                    reason,
                } => {
                    tracing::warn!(
                        conn,
                        user = %super::cut(&user, LOGGED_TEXT_BYTES),
                        %document_id,
                        code,
                        reason = %super::cut(&reason, LOGGED_TEXT_BYTES),
                        "change refused by the write rule"
                    );
                }
                Task::Compact {
                    id,
                    first,
                    last,
                    save,
                } => {
                    if let Err(e) = self.storage.compact(&id, first, last, &save).await {
                        tracing::warn!(%id, error = %e, "compacting a document failed; its chunks stay");
                    }
                }
                Task::Load(ids) => {
                    let started = Instant::now();
                    let loaded = self.storage.load_many(&ids).await;
                    Metrics::add(
                        &self.metrics.storage_load_micros,
                        started.elapsed().as_micros() as u64,
                    );
                    let result = loaded.map_err(|e| {
                        tracing::error!(error = %e, documents = ids.len(), "loading documents failed");
                        e.to_string()
                    });
                    queue.extend(self.step(move |core| core.loaded(result)).await);
                }
                Task::Commit { writes, records } => {
                    let started = Instant::now();
                    let written = self
                        .storage
                        .append_batch(&writes, &records, self.clock.now_ms(), &self.sla.get())
                        .await;
                    Metrics::add(
                        &self.metrics.storage_write_micros,
                        started.elapsed().as_micros() as u64,
                    );
                    let result = written.map_err(|e| {
                        tracing::error!(error = %e, changes = writes.len(), "persisting changes failed");
                        e.to_string()
                    });
                    if result.is_ok() {
                        self.stored.send_modify(|n| *n += 1);
                    }
                    queue.extend(self.step(move |core| core.committed(result)).await);
                }
            }
        }
    }

    fn deliver(&mut self, conn: ConnectionId, out: Outgoing) {
        let Some(outbox) = self.outboxes.get(&conn) else {
            return;
        };
        match outbox.try_send(out) {
            Ok(()) => Metrics::add(&self.metrics.frames_out, 1),
            Err(e) => {
                let why = match e {
                    mpsc::error::TrySendError::Full(_) => "too slow: its outbox is full",
                    mpsc::error::TrySendError::Closed(_) => "gone",
                };
                tracing::warn!(conn, why, "disconnecting a socket");
                self.outboxes.remove(&conn);
                self.dropped.push(conn);
            }
        }
    }

    /// Adds what the core counted since the last report to the metrics.
    fn report(&mut self) {
        let (now, connections, documents) = {
            let core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
            (
                core.counters,
                core.connection_count(),
                core.hub().document_count(),
            )
        };
        let was = std::mem::replace(&mut self.reported, now);
        let m = &self.metrics;
        Metrics::add(&m.frames_in, now.frames_in - was.frames_in);
        Metrics::add(
            &m.frames_rejected,
            now.frames_rejected - was.frames_rejected,
        );
        Metrics::add(
            &m.documents_loaded,
            now.documents_loaded - was.documents_loaded,
        );
        Metrics::add(
            &m.documents_evicted,
            now.documents_evicted - was.documents_evicted,
        );
        Metrics::add(
            &m.storage_writes,
            now.writes_committed - was.writes_committed,
        );
        Metrics::add(&m.storage_failures, now.commits_failed - was.commits_failed);
        Metrics::add(
            &m.documents_compacted,
            now.documents_compacted - was.documents_compacted,
        );
        Metrics::add(
            &m.changes_refused,
            now.changes_refused - was.changes_refused,
        );
        Metrics::set(&m.connections, connections as u64);
        Metrics::set(&m.documents_in_memory, documents as u64);
    }
}

/// Client-chosen text in a log line is cut to this many bytes.
const LOGGED_TEXT_BYTES: usize = 200;
