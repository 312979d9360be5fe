//! The contact store's rows: sealed details, the customer's wrapped key in
//! a table of its own (erasure deletes it), keyed lookups and consents.
//! Nothing here sees plaintext; `crate::contacts` seals and opens.

use closeloop_shared::audit::AuditAction;
use closeloop_shared::contact::{Consent, ConsentPurpose};
use sqlx::Row;

use super::audit::{AuditNote, audit_in};
use super::{Storage, StorageError};

/// A contact to store.
pub struct ContactRow<'a> {
    pub contact_ref: &'a str,
    pub sealed: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub phone_lookup: Option<String>,
    pub email_lookup: Option<String>,
    pub created_by: &'a str,
    pub captured_at_ms: i64,
    pub consents: &'a [ConsentPurpose],
}

/// A stored contact: sealed details and key, `None` once erased.
#[derive(Debug, Clone)]
pub struct StoredContact {
    pub sealed: Option<Vec<u8>>,
    pub wrapped_key: Option<Vec<u8>>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub erased_at_ms: Option<i64>,
    pub consents: Vec<Consent>,
}

/// What storing a contact did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// The same user stored this reference before (a retried upload).
    Again,
    /// Another user holds the reference.
    Taken,
}

impl Storage {
    /// Stores a new contact and its audit entry in one transaction.
    pub async fn add_contact(
        &self,
        c: ContactRow<'_>,
        now_ms: i64,
    ) -> Result<Stored, StorageError> {
        let mut tx = self.begin_write().await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT created_by FROM contacts WHERE contact_ref = $1")
                .bind(c.contact_ref)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(owner) = owner {
            return Ok(if owner == c.created_by {
                Stored::Again
            } else {
                Stored::Taken
            });
        }
        let inserted = sqlx::query(
            "INSERT INTO contacts (contact_ref, sealed, phone_lookup, email_lookup, created_by, created_at, captured_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (contact_ref) DO NOTHING",
        )
        .bind(c.contact_ref)
        .bind(c.sealed)
        .bind(c.phone_lookup)
        .bind(c.email_lookup)
        .bind(c.created_by)
        .bind(now_ms)
        .bind(c.captured_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another request stored it in between; the caller retries.
            return Ok(Stored::Taken);
        }
        sqlx::query("INSERT INTO contact_keys (contact_ref, wrapped) VALUES ($1, $2)")
            .bind(c.contact_ref)
            .bind(c.wrapped_key)
            .execute(&mut *tx)
            .await?;
        for purpose in c.consents {
            sqlx::query(
                "INSERT INTO contact_consents (contact_ref, purpose, at, recorded_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (contact_ref, purpose) DO NOTHING",
            )
            .bind(c.contact_ref)
            .bind(purpose.key())
            .bind(c.captured_at_ms)
            .bind(c.created_by)
            .execute(&mut *tx)
            .await?;
        }
        let note = AuditNote {
            actor: c.created_by,
            action: AuditAction::ContactCreated,
            subject: Some(c.contact_ref),
            detail: None,
        };
        audit_in(&mut tx, note, now_ms).await?;
        tx.commit().await?;
        Ok(Stored::New)
    }

    /// A stored contact, if the reference exists.
    pub async fn contact(&self, contact_ref: &str) -> Result<Option<StoredContact>, StorageError> {
        let Some(row) = sqlx::query(
            "SELECT c.sealed, k.wrapped, c.created_by, c.created_at, c.erased_at
             FROM contacts c LEFT JOIN contact_keys k ON k.contact_ref = c.contact_ref
             WHERE c.contact_ref = $1",
        )
        .bind(contact_ref)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let consents = sqlx::query(
            "SELECT purpose, at, recorded_by FROM contact_consents WHERE contact_ref = $1 ORDER BY purpose",
        )
        .bind(contact_ref)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let purpose: String = r.try_get("purpose")?;
            Ok(Consent {
                purpose: ConsentPurpose::from_key(&purpose)
                    .ok_or_else(|| StorageError::Corrupt(format!("consent purpose {purpose}")))?,
                at_ms: r.try_get("at")?,
                recorded_by: r.try_get("recorded_by")?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(Some(StoredContact {
            sealed: row.try_get("sealed")?,
            wrapped_key: row.try_get("wrapped")?,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at")?,
            erased_at_ms: row.try_get("erased_at")?,
            consents,
        }))
    }

    /// Notes that `viewer` saw a contact (before the details are sent).
    pub async fn contact_viewed(
        &self,
        viewer: &str,
        contact_ref: &str,
        record: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let note = AuditNote {
            actor: viewer,
            action: AuditAction::ContactViewed,
            subject: Some(contact_ref),
            detail: Some(format!("record {record}")),
        };
        self.audit(note, now_ms).await
    }

    /// Erases a contact: its key is deleted (the sealed details can never be
    /// opened again), the sealed bytes, lookups and consents go too, surveys
    /// sent to it forget it, and the erasure is audited. False if there is no such contact or it was
    /// erased already.
    pub async fn erase_contact(
        &self,
        contact_ref: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await?;
        // Surveys sent to them keep no key to the customer, masked address
        // or link to their answers.
        sqlx::query(
            "UPDATE survey_sends SET customer_key = NULL, period_slot = NULL, recipient = NULL
             WHERE customer_key IN (SELECT COALESCE(email_lookup, phone_lookup, contact_ref)
                                    FROM contacts WHERE contact_ref = $1)",
        )
        .bind(contact_ref)
        .execute(&mut *tx)
        .await?;
        for table in ["survey_links", "survey_answers"] {
            sqlx::query(&format!(
                "UPDATE {table} SET contact_ref = NULL WHERE contact_ref = $1"
            ))
            .bind(contact_ref)
            .execute(&mut *tx)
            .await?;
        }
        let erased = sqlx::query(
            "UPDATE contacts SET sealed = NULL, phone_lookup = NULL, email_lookup = NULL,
                erased_at = $2, erased_by = $3
             WHERE contact_ref = $1 AND erased_at IS NULL",
        )
        .bind(contact_ref)
        .bind(now_ms)
        .bind(by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if erased == 0 {
            return Ok(false);
        }
        for table in ["contact_keys", "contact_consents"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE contact_ref = $1"))
                .bind(contact_ref)
                .execute(&mut *tx)
                .await?;
        }
        let note = AuditNote {
            actor: by,
            action: AuditAction::ContactErased,
            subject: Some(contact_ref),
            detail: None,
        };
        audit_in(&mut tx, note, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The contact reference a record carries, if any.
    pub async fn record_contact_ref(
        &self,
        document_id: &str,
    ) -> Result<Option<String>, StorageError> {
        let found: Option<Option<String>> =
            sqlx::query_scalar("SELECT contact_ref FROM records WHERE document_id = $1")
                .bind(document_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.flatten())
    }

    /// References of the contacts sharing a phone number or email with
    /// `contact_ref` (itself included while it is not erased).
    pub async fn same_customer_contacts(
        &self,
        contact_ref: &str,
    ) -> Result<Vec<String>, StorageError> {
        let lookups =
            sqlx::query("SELECT phone_lookup, email_lookup FROM contacts WHERE contact_ref = $1")
                .bind(contact_ref)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = lookups else {
            return Ok(Vec::new());
        };
        let phone: Option<String> = row.try_get("phone_lookup")?;
        let email: Option<String> = row.try_get("email_lookup")?;
        self.contacts_matching(phone.as_deref(), email.as_deref())
            .await
    }

    /// References of contacts with this phone or email lookup (the customer
    /// file links records by them).
    pub async fn contacts_matching(
        &self,
        phone_lookup: Option<&str>,
        email_lookup: Option<&str>,
    ) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT contact_ref FROM contacts
             WHERE (phone_lookup IS NOT NULL AND phone_lookup = $1)
                OR (email_lookup IS NOT NULL AND email_lookup = $2)
             ORDER BY created_at",
        )
        .bind(phone_lookup)
        .bind(email_lookup)
        .fetch_all(&self.pool)
        .await?)
    }
}
