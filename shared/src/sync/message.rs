//! The automerge-repo wire messages and their CBOR codec.
//!
//! Decoding is lenient where real clients are (non-minimal map headers,
//! `undefined` values, unknown keys) and strict where a mistake would corrupt
//! state (types of ids and payloads): a frame that does not fit is a
//! [`MessageError`], never a panic.

use ciborium::Value;

use super::{DocumentId, DocumentIdError};

mod scan;

pub use scan::{MAX_DEPTH, MAX_ITEMS, MAX_TEXT_BYTES, ScanError};

/// The only protocol version automerge-repo 2.x speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// Largest frame accepted, so a peer cannot make us buffer unbounded input.
///
/// 1 MiB: a record is at most a 10,000-character description (30 KB of
/// UTF-8) plus its log, and attachments travel over HTTP, so even a full
/// save of a long-edited record is a small fraction of this; the largest
/// frames the benchmarks and end-to-end tests send are a few KB.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Longest peer, storage or session id: automerge-repo's are UUID-based,
/// under 50 bytes.
pub const MAX_ID_BYTES: usize = 256;

/// A peer's self-chosen name for the session; not authenticated by itself.
pub type PeerId = String;

/// One protocol message; each WebSocket binary frame carries exactly one.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client → relay on open.
    Join {
        sender_id: PeerId,
        storage_id: Option<String>,
        is_ephemeral: bool,
        supported_protocol_versions: Vec<String>,
    },
    /// Relay → client: handshake accepted.
    Peer {
        sender_id: PeerId,
        target_id: PeerId,
        storage_id: Option<String>,
        is_ephemeral: bool,
        selected_protocol_version: String,
    },
    /// Something went wrong; the sender closes the connection after it.
    Error {
        sender_id: PeerId,
        target_id: Option<PeerId>,
        message: String,
    },
    /// First sync message from a peer that does not have the document.
    Request {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// An Automerge sync message for one document.
    Sync {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// The sender has no such document (or may not tell).
    DocUnavailable {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
    },
    /// Presence data; relayed, never stored.
    Ephemeral {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        count: u64,
        session_id: String,
        data: Vec<u8>,
    },
    /// The peer says goodbye.
    Leave { sender_id: PeerId },
    /// Closeloop's own: the relay refused changes to a document (the write
    /// rule, `docs/write-rules.md`); the sender drops them from its copy.
    /// automerge-repo clients ignore the unknown type.
    Refused {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        /// Hex hashes of the refused changes.
        changes: Vec<String>,
        /// Stable reason key (`forbidden`, `not_yours`, …) for the app to translate.
        code: String,
        reason: String,
    },
}

/// Why a frame could not be understood; sent back to the peer as an error message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// Not CBOR at all, or trailing garbage.
    #[error("frame is not valid CBOR: {0}")]
    Cbor(String),
    /// CBOR, but not a map.
    #[error("frame is not a CBOR map")]
    NotAMap,
    /// Over [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes is over the limit of {MAX_FRAME_BYTES}")]
    TooLarge(usize),
    /// Too many items, too deep or too long a text (see [`scan`]).
    #[error("{0}")]
    Structure(#[from] ScanError),
    /// An id field is over [`MAX_ID_BYTES`].
    #[error("field `{0}` is over {MAX_ID_BYTES} bytes")]
    IdTooLong(&'static str),
    /// A field the message type requires is absent.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field has the wrong CBOR type.
    #[error("field `{0}` has the wrong type")]
    WrongType(&'static str),
    /// `type` names no message we know.
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    /// `documentId` is not a valid id.
    #[error("documentId: {0}")]
    DocumentId(#[from] DocumentIdError),
}

impl Message {
    /// The peer id the message claims to come from.
    pub fn sender_id(&self) -> &str {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::Error { sender_id, .. }
            | Message::Request { sender_id, .. }
            | Message::Sync { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. }
            | Message::Ephemeral { sender_id, .. }
            | Message::Refused { sender_id, .. }
            | Message::Leave { sender_id } => sender_id,
        }
    }

    /// The document a message is about, if any.
    pub fn document_id(&self) -> Option<DocumentId> {
        match self {
            Message::Request { document_id, .. }
            | Message::Sync { document_id, .. }
            | Message::DocUnavailable { document_id, .. }
            | Message::Ephemeral { document_id, .. }
            | Message::Refused { document_id, .. } => Some(*document_id),
            _ => None,
        }
    }

    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<Self, MessageError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(MessageError::TooLarge(frame.len()));
        }
        // Before any value is built: a small frame can hold a huge tree.
        scan::scan(frame)?;
        let mut reader = frame;
        let value: Value =
            ciborium::from_reader(&mut reader).map_err(|e| MessageError::Cbor(e.to_string()))?;
        if !reader.is_empty() {
            return Err(MessageError::Cbor("trailing bytes after the map".into()));
        }
        let Value::Map(entries) = value else {
            return Err(MessageError::NotAMap);
        };
        let map = Fields(entries);
        let kind = map.text("type")?;
        let sender_id = map.text("senderId")?;
        Ok(match kind.as_str() {
            "join" => {
                let meta = map.get("peerMetadata");
                Message::Join {
                    sender_id,
                    storage_id: meta_storage_id(meta),
                    is_ephemeral: meta_is_ephemeral(meta),
                    supported_protocol_versions: match map.get("supportedProtocolVersions") {
                        None | Some(Value::Null) => vec![PROTOCOL_VERSION.to_string()],
                        Some(Value::Array(items)) => items
                            .iter()
                            .filter_map(|v| v.as_text().map(str::to_string))
                            .filter(|v| v.len() <= MAX_ID_BYTES)
                            .collect(),
                        Some(_) => {
                            return Err(MessageError::WrongType("supportedProtocolVersions"));
                        }
                    },
                }
            }
            "peer" => {
                let meta = map.get("peerMetadata");
                Message::Peer {
                    sender_id,
                    target_id: map.text("targetId")?,
                    storage_id: meta_storage_id(meta),
                    is_ephemeral: meta_is_ephemeral(meta),
                    selected_protocol_version: map
                        .opt_text("selectedProtocolVersion")?
                        .unwrap_or_else(|| PROTOCOL_VERSION.to_string()),
                }
            }
            "error" => Message::Error {
                sender_id,
                target_id: map.opt_text("targetId")?,
                message: map.free_text("message")?.unwrap_or_default(),
            },
            "request" | "sync" => {
                let target_id = map.text("targetId")?;
                let document_id = map.text("documentId")?.parse()?;
                let data = map.bytes("data")?;
                if kind == "request" {
                    Message::Request {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                    }
                } else {
                    Message::Sync {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                    }
                }
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender_id,
                target_id: map.text("targetId")?,
                document_id: map.text("documentId")?.parse()?,
            },
            "ephemeral" => Message::Ephemeral {
                sender_id,
                target_id: map.text("targetId")?,
                document_id: map.text("documentId")?.parse()?,
                count: match map.get("count") {
                    Some(Value::Integer(i)) => {
                        u64::try_from(*i).map_err(|_| MessageError::WrongType("count"))?
                    }
                    _ => return Err(MessageError::WrongType("count")),
                },
                session_id: map.text("sessionId")?,
                data: map.bytes("data")?,
            },
            "leave" => Message::Leave { sender_id },
            "closeloop-refused" => Message::Refused {
                sender_id,
                target_id: map.text("targetId")?,
                document_id: map.text("documentId")?.parse()?,
                changes: match map.get("changes") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| match v {
                            Value::Text(t) => Ok(t.clone()),
                            _ => Err(MessageError::WrongType("changes")),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(MessageError::WrongType("changes")),
                },
                code: map.text("code")?,
                reason: map.text("reason")?,
            },
            other => {
                let shown = other
                    .char_indices()
                    .nth(32)
                    .map_or(other, |(i, _)| &other[..i]);
                return Err(MessageError::UnknownType(shown.to_string()));
            }
        })
    }

    /// Encodes as one frame, with the key names automerge-repo uses.
    pub fn encode(&self) -> Vec<u8> {
        let mut m: Vec<(Value, Value)> = Vec::with_capacity(8);
        let mut put = |k: &str, v: Value| m.push((Value::Text(k.into()), v));
        let text = |s: &str| Value::Text(s.to_string());
        let meta = |storage_id: &Option<String>, eph: bool| {
            let mut fields = vec![(text("isEphemeral"), Value::Bool(eph))];
            if let Some(id) = storage_id {
                fields.push((text("storageId"), text(id)));
            }
            Value::Map(fields)
        };
        match self {
            Message::Join {
                sender_id,
                storage_id,
                is_ephemeral,
                supported_protocol_versions,
            } => {
                put("type", text("join"));
                put("senderId", text(sender_id));
                put("peerMetadata", meta(storage_id, *is_ephemeral));
                put(
                    "supportedProtocolVersions",
                    Value::Array(
                        supported_protocol_versions
                            .iter()
                            .map(|v| text(v))
                            .collect(),
                    ),
                );
            }
            Message::Peer {
                sender_id,
                target_id,
                storage_id,
                is_ephemeral,
                selected_protocol_version,
            } => {
                put("type", text("peer"));
                put("senderId", text(sender_id));
                put("peerMetadata", meta(storage_id, *is_ephemeral));
                put("selectedProtocolVersion", text(selected_protocol_version));
                put("targetId", text(target_id));
            }
            Message::Error {
                sender_id,
                target_id,
                message,
            } => {
                put("type", text("error"));
                put("senderId", text(sender_id));
                put("message", text(message));
                if let Some(t) = target_id {
                    put("targetId", text(t));
                }
            }
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
            | Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            } => {
                let kind = if matches!(self, Message::Request { .. }) {
                    "request"
                } else {
                    "sync"
                };
                put("type", text(kind));
                put("senderId", text(sender_id));
                put("targetId", text(target_id));
                put("documentId", text(&document_id.to_string()));
                put("data", Value::Bytes(data.clone()));
            }
            Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
            } => {
                put("type", text("doc-unavailable"));
                put("senderId", text(sender_id));
                put("targetId", text(target_id));
                put("documentId", text(&document_id.to_string()));
            }
            Message::Ephemeral {
                sender_id,
                target_id,
                document_id,
                count,
                session_id,
                data,
            } => {
                put("type", text("ephemeral"));
                put("senderId", text(sender_id));
                put("targetId", text(target_id));
                put("documentId", text(&document_id.to_string()));
                put("count", Value::Integer((*count).into()));
                put("sessionId", text(session_id));
                put("data", Value::Bytes(data.clone()));
            }
            Message::Leave { sender_id } => {
                put("type", text("leave"));
                put("senderId", text(sender_id));
            }
            Message::Refused {
                sender_id,
                target_id,
                document_id,
                changes,
                code,
                reason,
            } => {
                put("type", text("closeloop-refused"));
                put("senderId", text(sender_id));
                put("targetId", text(target_id));
                put("documentId", text(&document_id.to_string()));
                put(
                    "changes",
                    Value::Array(changes.iter().map(|c| text(c)).collect()),
                );
                put("code", text(code));
                put("reason", text(reason));
            }
        }
        let mut out = Vec::with_capacity(64);
        // Writing a Value into a Vec cannot fail: no IO error is possible.
        ciborium::into_writer(&Value::Map(m), &mut out).expect("CBOR into a Vec cannot fail");
        out
    }
}

/// The decoded map, looked up by text key.
struct Fields(Vec<(Value, Value)>);

impl Fields {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    fn text(&self, key: &'static str) -> Result<String, MessageError> {
        self.opt_text(key)?.ok_or(MessageError::Missing(key))
    }

    /// An id (or `type`, a version), at most [`MAX_ID_BYTES`].
    fn opt_text(&self, key: &'static str) -> Result<Option<String>, MessageError> {
        let s = self.free_text(key)?;
        if s.as_ref().is_some_and(|s| s.len() > MAX_ID_BYTES) {
            return Err(MessageError::IdTooLong(key));
        }
        Ok(s)
    }

    /// Text bounded only by the scan's [`MAX_TEXT_BYTES`] (an error message).
    fn free_text(&self, key: &'static str) -> Result<Option<String>, MessageError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s.clone())),
            Some(_) => Err(MessageError::WrongType(key)),
        }
    }

    fn bytes(&self, key: &'static str) -> Result<Vec<u8>, MessageError> {
        match self.get(key) {
            None => Err(MessageError::Missing(key)),
            Some(Value::Bytes(b)) => Ok(b.clone()),
            Some(_) => Err(MessageError::WrongType(key)),
        }
    }
}

fn meta_storage_id(meta: Option<&Value>) -> Option<String> {
    let Some(Value::Map(m)) = meta else {
        return None;
    };
    m.iter()
        .find(|(k, _)| k.as_text() == Some("storageId"))
        .and_then(|(_, v)| v.as_text().map(str::to_string))
        .filter(|id| id.len() <= MAX_ID_BYTES)
}

fn meta_is_ephemeral(meta: Option<&Value>) -> bool {
    let Some(Value::Map(m)) = meta else {
        return false;
    };
    m.iter()
        .find(|(k, _)| k.as_text() == Some("isEphemeral"))
        .and_then(|(_, v)| v.as_bool())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc() -> DocumentId {
        "29iQSuSeK6H6XFqvhfQGfzFYssr2".parse().unwrap()
    }

    #[test]
    fn decodes_a_join_with_a_16_bit_map_header_and_undefined_storage_id() {
        // {type:"join", senderId:"c", peerMetadata:{storageId: undefined, isEphemeral: true},
        //  supportedProtocolVersions:["1"]}, with the map length written as 0xb9 00 04
        // as the JS encoder does.
        let mut f = vec![0xb9, 0x00, 0x04];
        f.extend([0x64]);
        f.extend(b"type");
        f.extend([0x64]);
        f.extend(b"join");
        f.extend([0x68]);
        f.extend(b"senderId");
        f.extend([0x61]);
        f.extend(b"c");
        f.extend([0x6c]);
        f.extend(b"peerMetadata");
        f.extend([0xa2, 0x69]);
        f.extend(b"storageId");
        f.push(0xf7);
        f.extend([0x6b]);
        f.extend(b"isEphemeral");
        f.push(0xf5);
        f.extend([0x78, 0x19]);
        f.extend(b"supportedProtocolVersions");
        f.extend([0x81, 0x61]);
        f.extend(b"1");
        let m = Message::decode(&f).unwrap();
        assert_eq!(
            m,
            Message::Join {
                sender_id: "c".into(),
                storage_id: None,
                is_ephemeral: true,
                supported_protocol_versions: vec!["1".into()],
            }
        );
    }

    #[test]
    fn a_join_without_versions_means_version_one() {
        let frame = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("join".into())),
            (Value::Text("senderId".into()), Value::Text("x".into())),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&frame, &mut bytes).unwrap();
        let Message::Join {
            supported_protocol_versions,
            ..
        } = Message::decode(&bytes).unwrap()
        else {
            panic!("not a join")
        };
        assert_eq!(supported_protocol_versions, vec!["1".to_string()]);
    }

    #[test]
    fn malformed_frames_are_typed_errors() {
        assert_eq!(
            Message::decode(b"\xff\x00garbage"),
            Err(MessageError::Structure(ScanError::Reserved))
        );
        assert!(matches!(
            Message::decode(b"\x61\xff"),
            Err(MessageError::Cbor(_))
        ));
        assert_eq!(Message::decode(&[0x01]), Err(MessageError::NotAMap));
        let no_type = Message::Leave {
            sender_id: "a".into(),
        }
        .encode();
        assert!(Message::decode(&no_type[..no_type.len() - 1]).is_err());
        let mut sync = Message::Sync {
            sender_id: "a".into(),
            target_id: "b".into(),
            document_id: doc(),
            data: vec![1, 2],
        }
        .encode();
        sync.push(0x00);
        assert!(matches!(Message::decode(&sync), Err(MessageError::Cbor(_))));
    }

    #[test]
    fn a_bad_document_id_is_rejected() {
        let frame = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("sync".into())),
            (Value::Text("senderId".into()), Value::Text("a".into())),
            (Value::Text("targetId".into()), Value::Text("b".into())),
            (
                Value::Text("documentId".into()),
                Value::Text("not-an-id".into()),
            ),
            (Value::Text("data".into()), Value::Bytes(vec![])),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&frame, &mut bytes).unwrap();
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::DocumentId(_))
        ));
    }

    #[test]
    fn oversized_strings_and_item_floods_are_refused_before_decoding() {
        let frame = |doc_id: String, sender: String| {
            let v = Value::Map(vec![
                (Value::Text("type".into()), Value::Text("sync".into())),
                (Value::Text("senderId".into()), Value::Text(sender)),
                (Value::Text("targetId".into()), Value::Text("b".into())),
                (Value::Text("documentId".into()), Value::Text(doc_id)),
                (Value::Text("data".into()), Value::Bytes(vec![])),
            ]);
            let mut bytes = Vec::new();
            ciborium::into_writer(&v, &mut bytes).unwrap();
            bytes
        };
        let long_id = frame("2".repeat(200_000), "a".into());
        assert_eq!(
            Message::decode(&long_id),
            Err(MessageError::Structure(ScanError::TextTooLong))
        );
        let id_200 = frame("2".repeat(200), "a".into());
        assert_eq!(
            Message::decode(&id_200),
            Err(MessageError::DocumentId(DocumentIdError::TooLong))
        );
        let sender = frame(doc().to_string(), "s".repeat(MAX_ID_BYTES + 1));
        assert_eq!(
            Message::decode(&sender),
            Err(MessageError::IdTooLong("senderId"))
        );
        // A map of 100,000 one-byte pairs: refused at the 65th item.
        let mut flood = vec![0xba, 0x00, 0x01, 0x86, 0xa0];
        flood.extend(std::iter::repeat_n(0x00, 200_000));
        assert_eq!(
            Message::decode(&flood),
            Err(MessageError::Structure(ScanError::TooManyItems))
        );
    }

    fn any_message() -> impl Strategy<Value = Message> {
        let id = any::<[u8; 16]>().prop_map(DocumentId::from_bytes);
        let s = "[a-z0-9-]{1,12}";
        prop_oneof![
            (s, proptest::option::of(s), any::<bool>()).prop_map(|(a, st, e)| Message::Join {
                sender_id: a,
                storage_id: st,
                is_ephemeral: e,
                supported_protocol_versions: vec!["1".into()]
            }),
            (s, s, proptest::option::of(s), any::<bool>()).prop_map(|(a, b, st, e)| {
                Message::Peer {
                    sender_id: a,
                    target_id: b,
                    storage_id: st,
                    is_ephemeral: e,
                    selected_protocol_version: "1".into(),
                }
            }),
            (
                s,
                s,
                id.clone(),
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(a, b, d, data)| Message::Sync {
                    sender_id: a,
                    target_id: b,
                    document_id: d,
                    data
                }),
            (
                s,
                s,
                id.clone(),
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(a, b, d, data)| Message::Request {
                    sender_id: a,
                    target_id: b,
                    document_id: d,
                    data
                }),
            (s, s, id.clone()).prop_map(|(a, b, d)| Message::DocUnavailable {
                sender_id: a,
                target_id: b,
                document_id: d
            }),
            (s, s, id.clone(), proptest::collection::vec(s, 0..3), s, s).prop_map(
                |(a, b, d, changes, code, reason)| Message::Refused {
                    sender_id: a,
                    target_id: b,
                    document_id: d,
                    changes,
                    code,
                    reason,
                }
            ),
            (s, s, id, any::<u64>(), s).prop_map(|(a, b, d, c, sid)| Message::Ephemeral {
                sender_id: a,
                target_id: b,
                document_id: d,
                count: c,
                session_id: sid,
                data: vec![7],
            }),
            (s, proptest::option::of(s), s).prop_map(|(a, t, m)| Message::Error {
                sender_id: a,
                target_id: t,
                message: m
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_message_round_trips(m in any_message()) {
            prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Message::decode(&bytes);
        }
    }
}
