//! The device's documents and its link to the relay: the shared [`SyncHub`]
//! driven by IndexedDB and one WebSocket, with effects run in order.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use automerge::{Automerge, Change};
use closeloop_shared::access::Principal;
use closeloop_shared::authorize::{Denied, RecordFacts, Write, check_changes, may};
use closeloop_shared::record::{
    FeedbackDraft, FeedbackRecord, ListEntry, RecordError, edit_description,
};
use closeloop_shared::sync::{ConnectionId, DocumentId, Effect, SharePolicy, SyncHub, rollback};
use closeloop_shared::taxonomy::Taxonomy;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;

mod effects;
mod list;

use crate::attachments::FileQueue;
use crate::contacts::ContactQueue;
use crate::outbox::Runs;
use crate::session::{self, Session};
use crate::socket::Socket;
use crate::store::{LocalStore, StoreError};

/// Whether the relay is reachable, as the header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    Connecting,
    Online,
    Offline,
}

/// Why a save did not happen; the page shows it in the user's language.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    Invalid(RecordError),
    Storage(StoreError),
    /// Nobody has signed in on this device yet: a record needs its author.
    NotSignedIn,
    /// The write rule (the relay's, checked here first) does not allow it.
    Denied(Denied),
}

/// An edit the relay did not accept: dropped from the record so the device
/// converges, kept here so its author sees what happened and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RefusedEdit {
    /// Reason key (`forbidden`, `not_yours`, …), shown translated.
    pub code: String,
    pub reason: String,
    pub at_ms: i64,
    /// What each dropped change did ("description", "log", …).
    pub edits: Vec<String>,
}

/// Handle to the device's documents, shared through Leptos context.
#[derive(Clone)]
pub struct Repo {
    pub(crate) inner: SendWrapper<Rc<Inner>>,
    /// Bumped whenever any document changes, so views re-read.
    pub version: RwSignal<u64>,
    pub status: RwSignal<SyncStatus>,
    /// The last storage or sync problem, for the banner.
    pub problem: RwSignal<Option<String>>,
    /// Who is signed in; sync runs only for a signed-in (or not yet checked) session.
    pub session: RwSignal<Session>,
    /// Channels and categories, as the server last said (see `taxonomy`).
    taxonomy: RwSignal<std::sync::Arc<Taxonomy>>,
    /// The SLA policy and calendar, as the server last said: due moments
    /// on the tablet's own list, offline too.
    pub sla: RwSignal<std::sync::Arc<closeloop_shared::sla::SlaConfig>>,
    /// Edits the relay refused, per record.
    pub refused: RwSignal<HashMap<DocumentId, Vec<RefusedEdit>>>,
    /// Contact details waiting on this device for the server (see `contacts`).
    pub contacts: ContactQueue,
    /// Attachment files waiting for the server (see `attachments`).
    pub files: FileQueue,
    /// Records with edits the relay has not acknowledged yet.
    pub unsynced: RwSignal<usize>,
    /// When this device was last in step with the relay (ms).
    pub last_synced: RwSignal<Option<i64>>,
    /// What the record list shows of each record (see `list`).
    pub entries: RwSignal<HashMap<DocumentId, ListEntry>>,
    /// Whether every stored document is in memory (records open, sync runs).
    pub loaded: RwSignal<bool>,
}

/// What would be lost by wiping this device's data now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unsynced {
    /// Records with edits the relay has not acknowledged.
    pub records: usize,
    /// Contact details not yet uploaded.
    pub contacts: usize,
    /// Attachment files not yet uploaded.
    pub files: usize,
}

impl Unsynced {
    pub fn is_empty(&self) -> bool {
        self.records == 0 && self.contacts == 0 && self.files == 0
    }
}

pub(crate) struct Inner {
    pub(crate) hub: RefCell<SyncHub>,
    pub(crate) store: LocalStore,
    queue: RefCell<VecDeque<Effect>>,
    draining: Cell<bool>,
    pub(crate) socket: RefCell<Option<Socket>>,
    next_conn: Cell<ConnectionId>,
    seq: Cell<u64>,
    pub(crate) version: RwSignal<u64>,
    pub(crate) status: RwSignal<SyncStatus>,
    pub(crate) problem: RwSignal<Option<String>>,
    pub(crate) session: RwSignal<Session>,
    pub(crate) refused: RwSignal<HashMap<DocumentId, Vec<RefusedEdit>>>,
    /// Whether the socket should be kept open (signed in, or offline and hoping).
    pub(crate) online_wanted: Cell<bool>,
    pub(crate) sync_url: Option<String>,
    pub(crate) contacts: ContactQueue,
    pub(crate) contacts_runs: Runs,
    /// Attachment files kept on this device and their uploader.
    pub(crate) files: FileQueue,
    pub(crate) file_runs: Runs,
    /// Whose data this is (the database is theirs alone, see `device`).
    pub(crate) username: String,
    /// Records with edits the relay has not acknowledged (kept in storage too).
    pending: RefCell<HashSet<DocumentId>>,
    pub(crate) unsynced: RwSignal<usize>,
    pub(crate) tombstone_runs: Runs,
    pub(crate) last_synced: RwSignal<Option<i64>>,
    pub(crate) entries: RwSignal<HashMap<DocumentId, ListEntry>>,
    pub(crate) loaded: RwSignal<bool>,
    /// Entries changed since the list was last redrawn (see `list`).
    changed_entries: RefCell<Vec<(DocumentId, ListEntry)>>,
    entries_flush_due: Cell<bool>,
    /// Chunks stored per document since it was last checked for compaction.
    appended: RefCell<HashMap<DocumentId, usize>>,
}

impl Repo {
    /// Opens `user`'s local data (moving in their records from the shared
    /// storage of earlier versions) with the list's entries; loads the
    /// documents in the background, then starts syncing.
    pub async fn start(user: &Principal, sync_url: Option<String>) -> Result<Repo, StoreError> {
        let store = LocalStore::open(&crate::device::db_name(&user.username)).await?;
        if let Err(e) = crate::device::migrate_legacy(&user.username, &store).await {
            leptos::logging::warn!("records of the old shared storage not moved: {e}");
        }
        let peer_id = format!("closeloop-{}", random_hex(8));
        let hub = SyncHub::new(peer_id, SharePolicy::AnnounceAll);
        let entries = list::stored_entries(&store).await?;
        let mut refused: HashMap<DocumentId, Vec<RefusedEdit>> = HashMap::new();
        for (id, json) in store.refused().await? {
            if let Ok(r) = serde_json::from_str::<RefusedEdit>(&json) {
                refused.entry(id).or_default().push(r);
            }
        }
        let pending: HashSet<DocumentId> = store.pending().await?.into_iter().collect();
        let inner = Rc::new(Inner {
            hub: RefCell::new(hub),
            store,
            queue: RefCell::default(),
            draining: Cell::new(false),
            socket: RefCell::default(),
            next_conn: Cell::new(1),
            seq: Cell::new(0),
            version: RwSignal::new(0),
            status: RwSignal::new(SyncStatus::Offline),
            problem: RwSignal::new(None),
            session: RwSignal::new(Session::Unknown),
            refused: RwSignal::new(refused),
            online_wanted: Cell::new(false),
            sync_url,
            contacts: ContactQueue::new(),
            contacts_runs: Runs::default(),
            files: FileQueue::new(),
            file_runs: Runs::default(),
            username: user.username.clone(),
            unsynced: RwSignal::new(pending.len()),
            pending: RefCell::new(pending),
            tombstone_runs: Runs::default(),
            last_synced: RwSignal::new(crate::sync_view::stored(&user.username)),
            entries: RwSignal::new(entries),
            loaded: RwSignal::new(false),
            changed_entries: RefCell::default(),
            entries_flush_due: Cell::new(false),
            appended: RefCell::default(),
        });
        Inner::watch_network(&inner);
        let checking = inner.clone();
        spawn_local(async move {
            Inner::count_contacts(&checking).await;
            Inner::count_files(&checking).await;
            // The list shows at once; records open and sync once all are in memory.
            Inner::load_documents(&checking).await;
            let Some(s) = Inner::check_session(&checking).await else {
                return;
            };
            // Offline the session cannot be checked: keep trying with the cookie we may have.
            let try_sync = s != Session::SignedOut;
            let signed_in = matches!(s, Session::SignedIn { .. });
            checking.session.set(s);
            if try_sync {
                Inner::go_online(&checking);
            }
            if signed_in {
                Inner::upload_contacts(&checking);
                Inner::upload_files(&checking);
            }
        });
        Ok(Repo {
            version: inner.version,
            status: inner.status,
            problem: inner.problem,
            session: inner.session,
            refused: inner.refused,
            contacts: inner.contacts,
            files: inner.files,
            unsynced: inner.unsynced,
            last_synced: inner.last_synced,
            entries: inner.entries,
            loaded: inner.loaded,
            taxonomy: crate::settings_cache::kept(inner.session),
            sla: crate::settings_cache::kept(inner.session),
            inner: SendWrapper::new(inner),
        })
    }

    /// The taxonomy forms offer now (tracked: views follow an update).
    pub fn taxonomy(&self) -> std::sync::Arc<Taxonomy> {
        self.taxonomy.get()
    }

    /// The same, for code outside views (async tasks, event handlers).
    pub fn taxonomy_untracked(&self) -> std::sync::Arc<Taxonomy> {
        self.taxonomy.get_untracked()
    }

    /// Validates and saves a new record; returns once it is durable on this device.
    pub async fn capture(&self, draft: FeedbackDraft) -> Result<DocumentId, SaveError> {
        self.capture_then(draft, |_, _, _| Ok(())).await
    }

    /// The same, with `then` (classification, attachments) written in the
    /// same change: a record is durable whole or not at all.
    pub async fn capture_then(
        &self,
        draft: FeedbackDraft,
        then: impl FnOnce(&mut Automerge, &str, i64) -> Result<(), RecordError>,
    ) -> Result<DocumentId, SaveError> {
        let taxonomy = self.taxonomy.get_untracked();
        let draft = draft.validate(&taxonomy).map_err(SaveError::Invalid)?;
        let id = DocumentId::from_bytes(random_bytes());
        let now = js_sys::Date::now() as i64;
        // Written in the signed-in user's name: the relay accepts no other.
        let by = session::cached_user()
            .ok_or(SaveError::NotSignedIn)?
            .username;
        self.save(id, move |doc| {
            draft.write_new(doc, &taxonomy, &by, now)?;
            then(doc, &by, now)
        })
        .await?;
        Ok(id)
    }

    /// Replaces a record's description.
    pub async fn edit_description(&self, id: DocumentId, text: String) -> Result<(), SaveError> {
        let now = js_sys::Date::now() as i64;
        self.save(id, move |doc| edit_description(doc, &text, now))
            .await
    }

    /// Any edit of a record, made in the signed-in user's name at the
    /// device's time, checked against the write rule before it is kept.
    pub async fn edit(
        &self,
        id: DocumentId,
        edit: impl FnOnce(&mut Automerge, &str, i64) -> Result<(), RecordError>,
    ) -> Result<(), SaveError> {
        let by = session::cached_user()
            .ok_or(SaveError::NotSignedIn)?
            .username;
        let now = js_sys::Date::now() as i64;
        self.save(id, move |doc| edit(doc, &by, now)).await
    }

    async fn save(
        &self,
        id: DocumentId,
        edit: impl FnOnce(&mut Automerge) -> Result<(), RecordError>,
    ) -> Result<(), SaveError> {
        let inner: &Rc<Inner> = &self.inner;
        let who = session::cached_user().ok_or(SaveError::NotSignedIn)?;
        let effects = inner
            .hub
            .borrow_mut()
            .change(id, |doc| checked(doc, &who, edit))?;
        // The local write first, awaited: "saved" means durable on this device.
        let mut rest = Vec::new();
        for e in effects {
            match e {
                Effect::Persist {
                    document_id, chunk, ..
                } => {
                    Inner::persist(inner, document_id, &chunk, true)
                        .await
                        .map_err(SaveError::Storage)?;
                }
                other => rest.push(other),
            }
        }
        inner.version.update(|v| *v += 1);
        Inner::enqueue(inner, rest);
        Ok(())
    }

    /// Whose local data this is.
    pub fn username(&self) -> &str {
        &self.inner.username
    }

    /// What is on this device and not on the server yet.
    pub fn unsynced_now(&self) -> Unsynced {
        Unsynced {
            records: self.unsynced.get_untracked(),
            contacts: self.contacts.waiting.get_untracked(),
            files: self.files.waiting.get_untracked(),
        }
    }

    /// Syncs now instead of at the next retry (the "sync now" button).
    pub fn sync_now(&self) {
        Inner::sync_now(&self.inner);
    }

    /// Signs out, deletes this user's local data and opens the sign-in
    /// page (a fresh page load: nothing of this user stays in memory).
    /// The caller has warned about [`Repo::unsynced_now`].
    pub async fn sign_out(&self) {
        let inner: &Rc<Inner> = &self.inner;
        inner.stop();
        session::sign_out().await;
        if let Err(e) = crate::device::wipe(&inner.username).await {
            inner.problem.set(Some(e.to_string()));
            return;
        }
        go_to("/login");
    }

    /// Asks the relay for a document this device does not hold yet.
    pub fn request(&self, id: DocumentId) {
        let inner: &Rc<Inner> = &self.inner;
        if inner.hub.borrow().has_document(&id) {
            return;
        }
        let effects = inner.hub.borrow_mut().request(id);
        Inner::enqueue(inner, effects);
    }

    /// One record, if its document is on this device and readable.
    pub fn record(&self, id: &DocumentId) -> Option<FeedbackRecord> {
        let hub = self.inner.hub.borrow();
        FeedbackRecord::from_doc(hub.document(id)?).ok()
    }

    /// What each change of a record changed (see `record::timeline`).
    pub fn timeline(&self, id: &DocumentId) -> Vec<closeloop_shared::record::TimelineStep> {
        let hub = self.inner.hub.borrow();
        hub.document(id)
            .map(closeloop_shared::record::timeline)
            .unwrap_or_default()
    }

    /// Whether the signed-in user may make this kind of write to a record
    /// (the relay's rule, so the screen offers only what will be accepted).
    pub fn may(&self, id: &DocumentId, write: Write) -> bool {
        let Some(who) = session::cached_user() else {
            return false;
        };
        let hub = self.inner.hub.borrow();
        let Some(doc) = hub.document(id) else {
            return false;
        };
        may(&who, &RecordFacts::at(doc, &doc.get_heads()), write)
    }

    /// Whether the document is on this device (possibly still empty).
    pub fn has_document(&self, id: &DocumentId) -> bool {
        self.inner.hub.borrow().has_document(id)
    }
}

/// Loads `path` afresh (the app opens the device user's data at load).
pub(crate) fn go_to(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(path);
    }
}

impl Inner {
    /// Stops syncing and closes the local database, before it is deleted.
    fn stop(&self) {
        self.online_wanted.set(false);
        if let Some(s) = self.socket.borrow().as_ref() {
            s.close();
        }
        self.store.close();
    }

    /// Asks the server who is signed in. `None` when this page is done:
    /// the session was revoked (this user's data is wiped, the sign-in
    /// page says why) or another user signed in meanwhile (their data is
    /// opened instead).
    pub(crate) async fn check_session(this: &Rc<Inner>) -> Option<Session> {
        match session::check().await {
            Ok(Session::SignedIn { username, .. }) if username != this.username => {
                this.stop();
                go_to("/");
                None
            }
            Ok(s) => Some(s),
            Err(session::Revoked) => {
                // No warning possible: the administrator decided.
                this.stop();
                session::forget();
                if let Err(e) = crate::device::wipe(&this.username).await {
                    leptos::logging::warn!("revoked, but local data not deleted: {e}");
                }
                go_to("/login?revoked=1");
                None
            }
        }
    }

    /// Notes a record's local edit as not acknowledged yet (stored with
    /// its chunk, see `persist`).
    fn note_pending(&self, id: DocumentId) {
        if self.pending.borrow_mut().insert(id) {
            self.unsynced.set(self.pending.borrow().len());
        }
    }

    /// After a frame from the relay on `conn`: records whose every change
    /// the relay now has (it acknowledges only what it stored) are synced.
    pub(crate) fn settle_pending(this: &Rc<Inner>, conn: ConnectionId) {
        let done: Vec<DocumentId> = {
            let hub = this.hub.borrow();
            this.pending
                .borrow()
                .iter()
                .filter(|id| hub.peer_has_all(id, conn))
                .copied()
                .collect()
        };
        if done.is_empty() {
            return;
        }
        this.forget_pending(&done);
        this.note_in_step();
        let this = this.clone();
        spawn_local(async move {
            for id in done {
                if let Err(e) = this.store.clear_pending(&id).await {
                    this.problem.set(Some(e.to_string()));
                }
            }
        });
    }

    pub(crate) fn forget_pending(&self, ids: &[DocumentId]) {
        let mut pending = self.pending.borrow_mut();
        for id in ids {
            pending.remove(id);
        }
        self.unsynced.set(pending.len());
    }

    /// Keeps a socket to the relay open from now on (reconnecting as needed).
    pub(crate) fn go_online(this: &Rc<Inner>) {
        if this.online_wanted.replace(true) {
            return;
        }
        if let Some(url) = this.sync_url.clone() {
            Inner::connect(this, url);
        }
    }

    pub(crate) fn next_conn(&self) -> ConnectionId {
        let c = self.next_conn.get();
        self.next_conn.set(c + 1);
        c
    }
}

/// Runs `edit`, then the relay's write rule on what it wrote; on refusal
/// the document is put back as it was, so an honest device never sends a
/// change the relay would refuse.
fn checked(
    doc: &mut Automerge,
    who: &Principal,
    edit: impl FnOnce(&mut Automerge) -> Result<(), RecordError>,
) -> Result<(), SaveError> {
    let before = doc.get_heads();
    edit(doc).map_err(SaveError::Invalid)?;
    let added: Vec<Change> = doc.get_changes(&before);
    if let Err((_, denied)) = check_changes(who, doc, &before, &added) {
        *doc = rollback(doc, &before).ok_or_else(|| {
            SaveError::Invalid(RecordError::Automerge("cannot undo the edit".into()))
        })?;
        return Err(SaveError::Denied(denied));
    }
    Ok(())
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    // The browser's crypto.getRandomValues cannot fail for 16 bytes; if it
    // somehow did, the time-seeded fallback still gives a usable id.
    if getrandom::fill(&mut b).is_err() {
        let t = (js_sys::Date::now() * 1000.0) as u128;
        b = (t ^ (js_sys::Math::random() * 1e15) as u128).to_le_bytes();
    }
    b
}

fn random_hex(n: usize) -> String {
    random_bytes()
        .iter()
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect()
}
