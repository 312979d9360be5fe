//! A map's current values read in one pass. Each `get` on a document seeks
//! the map's key afresh; reading a record that way (a dozen root fields,
//! several keys per log entry) was most of the relay's work per change.
//! One `map_range` pass per map reads the same winners.

use automerge::iter::MapRangeItem;
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ScalarValueRef, ValueRef};

/// The keys of one map with their winning values.
pub(super) struct Fields<'a> {
    items: Vec<MapRangeItem<'a>>,
}

impl<'a> Fields<'a> {
    pub(super) fn of(doc: &'a Automerge, obj: &ObjId) -> Self {
        Fields {
            items: doc.map_range(obj, ..).collect(),
        }
    }

    fn find(&self, key: &str) -> Option<&MapRangeItem<'a>> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Whether the key is set at all (to anything).
    pub(super) fn has(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Whether concurrent values are kept under the key.
    pub(super) fn conflicted(&self, key: &str) -> bool {
        self.find(key).is_some_and(|i| i.conflict)
    }

    /// A string value, if present and a string.
    pub(super) fn str(&self, key: &str) -> Option<String> {
        match &self.find(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    /// A timestamp (or integer) value, if present.
    pub(super) fn time(&self, key: &str) -> Option<i64> {
        match &self.find(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Timestamp(t) | ScalarValueRef::Int(t)) => Some(*t),
            ValueRef::Scalar(ScalarValueRef::Uint(u)) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// An unsigned integer value (or a non-negative signed one), if present.
    pub(super) fn uint(&self, key: &str) -> Option<u64> {
        match &self.find(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Uint(u)) => Some(*u),
            ValueRef::Scalar(ScalarValueRef::Int(i)) => u64::try_from(*i).ok(),
            _ => None,
        }
    }

    /// The object under the key, if it is one of type `kind`.
    pub(super) fn object(&self, key: &str, kind: ObjType) -> Option<ObjId> {
        let item = self.find(key)?;
        matches!(item.value, ValueRef::Object(t) if t == kind).then(|| item.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT, ScalarValue, Value};

    /// The one-pass reading picks the same winner as `get`, also where two
    /// writers set a key concurrently, and says the key is conflicted.
    #[test]
    fn reads_the_same_winners_as_get() {
        let mut a = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        let mut tx = a.transaction();
        tx.put(ROOT, "same", "x").unwrap();
        tx.put(ROOT, "at", ScalarValue::Timestamp(5)).unwrap();
        tx.put_object(ROOT, "log", ObjType::List).unwrap();
        tx.commit();
        let mut b = a.fork().with_actor(ActorId::from([2u8; 16]));
        for (doc, v) in [(&mut a, "from a"), (&mut b, "from b")] {
            let mut tx = doc.transaction();
            tx.put(ROOT, "both", v).unwrap();
            tx.commit();
        }
        a.merge(&mut b).unwrap();
        let f = Fields::of(&a, &ROOT);
        let got = |key: &str| match a.get(ROOT, key).unwrap() {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_string),
            _ => None,
        };
        assert_eq!(f.str("both"), got("both"));
        assert!(f.str("both").is_some());
        assert!(f.conflicted("both"));
        assert!(!f.conflicted("same"));
        assert_eq!(f.str("same").as_deref(), Some("x"));
        assert_eq!(f.time("at"), Some(5));
        assert_eq!(f.str("at"), None);
        assert!(f.has("log") && !f.has("nothing"));
        assert_eq!(
            f.object("log", ObjType::List),
            a.get(ROOT, "log").unwrap().map(|(_, id)| id)
        );
        assert_eq!(f.object("log", ObjType::Map), None);
    }
}
