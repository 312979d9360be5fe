//! The feedback record as an Automerge document.
//!
//! One document per record. This is the walking-skeleton subset of the
//! fields (S002 §3, S003 §2): when the feedback was received, the channel,
//! the customer's nickname (no real name needed, S003) and the customer's own
//! words as Automerge text, so concurrent edits merge character by character.
//! The document carries a schema version so older documents keep opening.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjType, ROOT, ReadDoc, ScalarValue, Value};

/// Version written into every new record document.
pub const SCHEMA_VERSION: u64 = 1;

/// Longest nickname accepted; a nickname is a handle, not a biography.
pub const MAX_NICKNAME_CHARS: usize = 64;
/// Longest description accepted, so one record cannot bloat every replica.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// The channels a field tablet offers until the taxonomy becomes admin data
/// (S002 §2, S003 §1). Stored by key; labels live in the UI.
pub const FIELD_CHANNELS: &[&str] = &[
    "face_to_face",
    "onsite_survey",
    "store_box",
    "phone",
    "sales_visit",
    "other",
];

/// What the capture form hands over; validated before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackDraft {
    pub channel: String,
    pub nickname: String,
    pub description: String,
}

/// A record as read back from its document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedbackRecord {
    pub schema_version: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub received_at_ms: i64,
    pub channel: String,
    pub nickname: String,
    pub description: String,
}

/// Why a draft or a document is not a valid record; the UI translates these.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("the customer nickname is empty")]
    NicknameEmpty,
    #[error("the customer nickname is longer than {MAX_NICKNAME_CHARS} characters")]
    NicknameTooLong,
    #[error("the feedback text is empty")]
    DescriptionEmpty,
    #[error("the feedback text is longer than {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionTooLong,
    #[error("unknown channel `{0}`")]
    UnknownChannel(String),
    #[error("field `{0}` is missing or has the wrong type")]
    Field(&'static str),
    #[error("written by a newer Closeloop (schema {0}); update this app")]
    NewerSchema(u64),
    #[error("document error: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for RecordError {
    fn from(e: automerge::AutomergeError) -> Self {
        RecordError::Automerge(e.to_string())
    }
}

impl FeedbackDraft {
    /// Checks the draft the way the form should, trimming surrounding blanks.
    pub fn validate(&self) -> Result<FeedbackDraft, RecordError> {
        let nickname = self.nickname.trim();
        let description = self.description.trim();
        if !FIELD_CHANNELS.contains(&self.channel.as_str()) {
            return Err(RecordError::UnknownChannel(self.channel.clone()));
        }
        if nickname.is_empty() {
            return Err(RecordError::NicknameEmpty);
        }
        if nickname.chars().count() > MAX_NICKNAME_CHARS {
            return Err(RecordError::NicknameTooLong);
        }
        validate_description(description)?;
        Ok(FeedbackDraft {
            channel: self.channel.clone(),
            nickname: nickname.to_string(),
            description: description.to_string(),
        })
    }

    /// Writes a validated draft into a new, empty document as one change.
    /// `now_ms` is the capture time, passed in because the domain reads no clock.
    pub fn write_new(&self, doc: &mut Automerge, now_ms: i64) -> Result<(), RecordError> {
        let d = self.validate()?;
        doc.transact_with::<_, _, RecordError, _>(
            |_| commit_options(now_ms, "capture"),
            |tx| {
                tx.put(ROOT, "schemaVersion", SCHEMA_VERSION)?;
                tx.put(ROOT, "receivedAt", ScalarValue::Timestamp(now_ms))?;
                tx.put(ROOT, "channel", d.channel.as_str())?;
                tx.put(ROOT, "nickname", d.nickname.as_str())?;
                let text = tx.put_object(ROOT, "description", ObjType::Text)?;
                tx.splice_text(&text, 0, 0, &d.description)?;
                Ok(())
            },
        )
        .map(|_| ())
        .map_err(|f| f.error)
    }
}

/// Replaces the description, keeping the characters that did not change so
/// a concurrent edit elsewhere in the text survives the merge.
pub fn edit_description(
    doc: &mut Automerge,
    new_text: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    let new_text = new_text.trim();
    validate_description(new_text)?;
    let Some((Value::Object(ObjType::Text), text)) = doc.get(ROOT, "description")? else {
        return Err(RecordError::Field("description"));
    };
    doc.transact_with::<_, _, RecordError, _>(
        |_| commit_options(now_ms, "edit description"),
        |tx| {
            tx.update_text(&text, new_text)?;
            Ok(())
        },
    )
    .map(|_| ())
    .map_err(|f| f.error)
}

fn validate_description(description: &str) -> Result<(), RecordError> {
    if description.is_empty() {
        return Err(RecordError::DescriptionEmpty);
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(RecordError::DescriptionTooLong);
    }
    Ok(())
}

fn commit_options(now_ms: i64, message: &str) -> CommitOptions {
    CommitOptions::default()
        .with_time(now_ms / 1000)
        .with_message(message.to_string())
}

impl FeedbackRecord {
    /// Reads a record; a foreign or damaged document is an error, not a panic.
    pub fn from_doc(doc: &Automerge) -> Result<Self, RecordError> {
        let schema_version = match doc.get(ROOT, "schemaVersion")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Uint(v) => *v,
                ScalarValue::Int(v) if *v >= 0 => *v as u64,
                _ => return Err(RecordError::Field("schemaVersion")),
            },
            _ => return Err(RecordError::Field("schemaVersion")),
        };
        if schema_version > SCHEMA_VERSION {
            return Err(RecordError::NewerSchema(schema_version));
        }
        let received_at_ms = match doc.get(ROOT, "receivedAt")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Timestamp(t) | ScalarValue::Int(t) => *t,
                _ => return Err(RecordError::Field("receivedAt")),
            },
            _ => return Err(RecordError::Field("receivedAt")),
        };
        let description = match doc.get(ROOT, "description")? {
            Some((Value::Object(ObjType::Text), id)) => doc.text(&id)?,
            _ => return Err(RecordError::Field("description")),
        };
        Ok(FeedbackRecord {
            schema_version,
            received_at_ms,
            channel: get_str(doc, "channel")?,
            nickname: get_str(doc, "nickname")?,
            description,
        })
    }
}

fn get_str(doc: &Automerge, key: &'static str) -> Result<String, RecordError> {
    match doc.get(ROOT, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(v) => Ok(v.to_string()),
            _ => Err(RecordError::Field(key)),
        },
        _ => Err(RecordError::Field(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> FeedbackDraft {
        FeedbackDraft {
            channel: "face_to_face".into(),
            nickname: "  王女士 ".into(),
            description: "门店空调太冷，等候区没有座位。".into(),
        }
    }

    #[test]
    fn a_captured_record_reads_back_with_trimmed_fields() {
        let mut doc = Automerge::new();
        draft().write_new(&mut doc, 1_779_500_000_000).unwrap();
        let loaded = Automerge::load(&doc.save()).unwrap();
        let r = FeedbackRecord::from_doc(&loaded).unwrap();
        assert_eq!(r.nickname, "王女士");
        assert_eq!(r.channel, "face_to_face");
        assert_eq!(r.received_at_ms, 1_779_500_000_000);
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert_eq!(r.description, "门店空调太冷，等候区没有座位。");
    }

    #[test]
    fn invalid_drafts_write_nothing() {
        let cases = [
            (
                FeedbackDraft {
                    nickname: " ".into(),
                    ..draft()
                },
                RecordError::NicknameEmpty,
            ),
            (
                FeedbackDraft {
                    description: "".into(),
                    ..draft()
                },
                RecordError::DescriptionEmpty,
            ),
            (
                FeedbackDraft {
                    nickname: "x".repeat(65),
                    ..draft()
                },
                RecordError::NicknameTooLong,
            ),
            (
                FeedbackDraft {
                    channel: "fax".into(),
                    ..draft()
                },
                RecordError::UnknownChannel("fax".into()),
            ),
        ];
        for (d, want) in cases {
            let mut doc = Automerge::new();
            assert_eq!(d.write_new(&mut doc, 0), Err(want));
            assert!(
                doc.get_heads().is_empty(),
                "a rejected draft must not change the document"
            );
        }
    }

    #[test]
    fn concurrent_description_edits_both_survive() {
        let mut a = Automerge::new();
        FeedbackDraft {
            description: "空调太冷".into(),
            ..draft()
        }
        .write_new(&mut a, 0)
        .unwrap();
        let mut b = a.fork();
        edit_description(&mut a, "门店空调太冷", 1000).unwrap();
        edit_description(&mut b, "空调太冷了", 2000).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(
            FeedbackRecord::from_doc(&a).unwrap().description,
            "门店空调太冷了"
        );
    }

    #[test]
    fn foreign_and_newer_documents_are_errors() {
        let empty = Automerge::new();
        assert_eq!(
            FeedbackRecord::from_doc(&empty),
            Err(RecordError::Field("schemaVersion"))
        );
        let mut newer = Automerge::new();
        draft().write_new(&mut newer, 0).unwrap();
        newer
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, "schemaVersion", 99u64)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(
            FeedbackRecord::from_doc(&newer),
            Err(RecordError::NewerSchema(99))
        );
    }
}
