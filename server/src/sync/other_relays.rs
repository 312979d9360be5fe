//! Several relays, one PostgreSQL database: each relay listens for the
//! others' change notifications (sent in the storing transaction, so
//! delivered only once the change is durable) and passes them to its relay
//! task, which forwards the news to its own clients.

use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::relay::{RelayHandle, RelayInput};
use crate::state::{Clock, Live};
use crate::storage::{CHANGES_CHANNEL, NOTIFIED_NOTICE, SETTINGS_NOTICE, Storage, StorageError};

/// The settings this relay holds live, reloaded when another relay saves.
#[derive(Clone)]
pub(crate) struct SharedSettings {
    pub storage: Storage,
    pub clock: std::sync::Arc<dyn Clock>,
    pub sla: Live<SlaConfig>,
    pub taxonomy: Live<Taxonomy>,
}

impl SharedSettings {
    /// Reads both settings again; on failure the ones held stay.
    async fn reload(&self) {
        let now = self.clock.now_ms();
        match (
            self.storage.sla_config(now).await,
            self.storage.taxonomy(now).await,
        ) {
            (Ok(sla), Ok(taxonomy)) => {
                self.sla.set(sla);
                self.taxonomy.set(taxonomy);
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "reloading settings another relay saved failed");
            }
        }
    }
}

/// Starts the listener if storage is shared, once it listens: a change
/// another relay stores after this relay has started is never missed. It
/// stops at shutdown, so the relay task (which runs while any handle
/// exists) can drain and end.
pub(crate) async fn start(
    settings: SharedSettings,
    relay: RelayHandle,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StorageError> {
    let Some(url) = settings.storage.shared_url().map(str::to_string) else {
        return Ok(());
    };
    let listener = connect(&url).await?;
    let me = settings.storage.instance().to_string();
    tokio::spawn(async move {
        let mut stop = shutdown.clone();
        tokio::select! {
            () = listen(listener, &me, &relay, &settings) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    });
    Ok(())
}

/// What another relay announced.
#[derive(Debug, PartialEq, Eq)]
enum Notice {
    Stored(DocumentId),
    /// An admin saved the SLA settings or the taxonomy there.
    Settings,
    /// Someone was notified there.
    Notified,
}

async fn listen(
    mut listener: PgListener,
    me: &str,
    relay: &RelayHandle,
    settings: &SharedSettings,
) {
    loop {
        let input = match listener.try_recv().await {
            Ok(Some(n)) => match parse(n.payload(), me) {
                Some(Notice::Stored(document_id)) => RelayInput::StoredElsewhere { document_id },
                Some(Notice::Settings) => {
                    settings.reload().await;
                    continue;
                }
                Some(Notice::Notified) => RelayInput::Notified,
                None => continue,
            },
            // The connection dropped and came back: anything may have been missed.
            Ok(None) => {
                settings.reload().await;
                RelayInput::RefreshAll
            }
            Err(e) => {
                tracing::warn!(error = %e, "change notifications interrupted");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                settings.reload().await;
                RelayInput::RefreshAll
            }
        };
        if !relay.send(input).await {
            return;
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, StorageError> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}

/// `relay:document` or `relay:settings` from another relay → what it
/// stored; our own and malformed payloads → `None`.
fn parse(payload: &str, me: &str) -> Option<Notice> {
    let (origin, what) = payload.split_once(':')?;
    if origin == me {
        return None;
    }
    if what == SETTINGS_NOTICE {
        return Some(Notice::Settings);
    }
    if what == NOTIFIED_NOTICE {
        return Some(Notice::Notified);
    }
    what.parse().ok().map(Notice::Stored)
}

#[cfg(test)]
mod tests {
    use super::{Notice, parse};
    use closeloop_shared::sync::DocumentId;

    #[test]
    fn only_other_relays_well_formed_notifications_count() {
        let id = DocumentId::from_bytes([3; 16]);
        assert_eq!(
            parse(&format!("other:{id}"), "me"),
            Some(Notice::Stored(id))
        );
        assert_eq!(parse("other:settings", "me"), Some(Notice::Settings));
        assert_eq!(parse("other:notified", "me"), Some(Notice::Notified));
        assert_eq!(parse("me:settings", "me"), None);
        assert_eq!(parse(&format!("me:{id}"), "me"), None);
        assert_eq!(parse("other:not-an-id", "me"), None);
        assert_eq!(parse("garbage", "me"), None);
    }
}
