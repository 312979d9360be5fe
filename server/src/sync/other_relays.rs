//! Several relays, one PostgreSQL database: each relay listens for the
//! others' change notifications (sent in the storing transaction, so
//! delivered only once the change is durable) and passes them to its relay
//! task, which forwards the news to its own clients.

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::relay::{RelayHandle, RelayInput};
use crate::storage::{CHANGES_CHANNEL, Storage};

/// Starts the listener if storage is shared; it stops at shutdown, so the
/// relay task (which runs while any handle exists) can drain and end.
pub(crate) fn spawn(storage: &Storage, relay: RelayHandle, shutdown: watch::Receiver<bool>) {
    let Some(url) = storage.shared_url().map(str::to_string) else {
        return;
    };
    let me = storage.instance().to_string();
    tokio::spawn(async move {
        let mut stop = shutdown.clone();
        tokio::select! {
            () = listen(&url, &me, &relay) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    });
}

async fn listen(url: &str, me: &str, relay: &RelayHandle) {
    let mut listener = loop {
        match connect(url).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::warn!(error = %e, "change notifications unavailable; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    };
    loop {
        let input = match listener.try_recv().await {
            Ok(Some(n)) => match parse(n.payload(), me) {
                Some(document_id) => RelayInput::StoredElsewhere { document_id },
                None => continue,
            },
            // The connection dropped and came back: anything may have been missed.
            Ok(None) => RelayInput::RefreshAll,
            Err(e) => {
                tracing::warn!(error = %e, "change notifications interrupted");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                RelayInput::RefreshAll
            }
        };
        if !relay.send(input).await {
            return;
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}

/// `relay:document` from another relay → the document; our own and
/// malformed payloads → `None`.
fn parse(payload: &str, me: &str) -> Option<closeloop_shared::sync::DocumentId> {
    let (origin, id) = payload.split_once(':')?;
    if origin == me {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse;
    use closeloop_shared::sync::DocumentId;

    #[test]
    fn only_other_relays_well_formed_notifications_count() {
        let id = DocumentId::from_bytes([3; 16]);
        assert_eq!(parse(&format!("other:{id}"), "me"), Some(id));
        assert_eq!(parse(&format!("me:{id}"), "me"), None);
        assert_eq!(parse("other:not-an-id", "me"), None);
        assert_eq!(parse("garbage", "me"), None);
    }
}
