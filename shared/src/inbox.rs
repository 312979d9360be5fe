//! The head-office inbox's saved views and how a list query travels in a
//! URL: one definition for the page that asks and the tests that check.

use crate::api::{DueFilter, RecordQuery};

/// Records per inbox page.
pub const INBOX_PAGE: i64 = 50;

/// The inbox's saved views (Zammad's "overviews"): a starting filter set a
/// person switches to with one click, then narrows further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedView {
    /// Open records the signed-in user owns, what falls due first on top.
    Mine,
    /// Open records nobody owns yet: the dispatcher's queue.
    Unassigned,
    /// Past due and not closed: what must be escalated or worked now.
    Overdue,
    /// Open complaints (S001 §3: the nature that needs an emergency plan).
    Complaints,
    /// Open records escalated (overdue, or raised by hand): the
    /// supervisor's view.
    Escalated,
    /// Every record, newest first.
    All,
    /// Archived records (read-only, kept for years), newest first.
    Archived,
}

impl SavedView {
    pub const ALL: [SavedView; 7] = [
        SavedView::Mine,
        SavedView::Unassigned,
        SavedView::Overdue,
        SavedView::Escalated,
        SavedView::Complaints,
        SavedView::All,
        SavedView::Archived,
    ];

    /// Stable key (the page's `data-view`, the i18n key's tail).
    pub fn key(self) -> &'static str {
        match self {
            SavedView::Mine => "mine",
            SavedView::Unassigned => "unassigned",
            SavedView::Overdue => "overdue",
            SavedView::Complaints => "complaints",
            SavedView::Escalated => "escalated",
            SavedView::All => "all",
            SavedView::Archived => "archived",
        }
    }

    /// The view's filters for user `me`, first page.
    pub fn query(self, me: &str) -> RecordQuery {
        let open = RecordQuery {
            open: Some(true),
            sort: Some("due".into()),
            ..RecordQuery::default()
        };
        let mut q = match self {
            SavedView::Mine => RecordQuery {
                owner: Some(me.to_string()),
                ..open
            },
            SavedView::Unassigned => RecordQuery {
                unassigned: Some(true),
                ..open
            },
            SavedView::Overdue => RecordQuery {
                due: Some(DueFilter::Overdue),
                ..open
            },
            SavedView::Complaints => RecordQuery {
                nature: Some("complaint".into()),
                ..open
            },
            SavedView::Escalated => RecordQuery {
                escalated: Some(true),
                ..open
            },
            SavedView::All => RecordQuery::default(),
            SavedView::Archived => RecordQuery {
                archived: Some(true),
                ..RecordQuery::default()
            },
        };
        q.per_page = Some(INBOX_PAGE);
        q
    }

    /// A department's queue: its open records, what falls due first.
    pub fn department(department: &str) -> RecordQuery {
        RecordQuery {
            department: Some(department.to_string()),
            open: Some(true),
            sort: Some("due".into()),
            per_page: Some(INBOX_PAGE),
            ..RecordQuery::default()
        }
    }
}

impl RecordQuery {
    /// The query as URL parameters (`a=1&b=x`), fields that are set only,
    /// percent-encoded, in the form `GET /api/records` reads.
    pub fn to_query_string(&self) -> String {
        let text = |v: &Option<String>| v.clone();
        let num = |v: Option<i64>| v.map(|n| n.to_string());
        let flag = |v: Option<bool>| v.map(|b| b.to_string());
        let due = self.due.map(|d| {
            match d {
                DueFilter::Overdue => "overdue",
                DueFilter::Near => "near",
            }
            .to_string()
        });
        let pairs: [(&str, Option<String>); 20] = [
            ("status", text(&self.status)),
            ("priority", text(&self.priority)),
            ("channel", text(&self.channel)),
            ("feedback_type", text(&self.feedback_type)),
            ("department", text(&self.department)),
            ("owner", text(&self.owner)),
            ("nature", text(&self.nature)),
            ("problem_class", text(&self.problem_class)),
            ("unassigned", flag(self.unassigned)),
            ("open", flag(self.open)),
            ("due", due),
            ("escalated", flag(self.escalated)),
            ("from", num(self.from)),
            ("to", num(self.to)),
            ("q", text(&self.q)),
            ("archived", flag(self.archived)),
            ("overdue", flag(self.overdue)),
            ("sort", text(&self.sort)),
            ("page", num(self.page)),
            ("per_page", num(self.per_page)),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", encode(v.as_deref()?))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl RecordQuery {
    /// The query a link carries, as decoded `(name, value)` pairs (the
    /// browser decodes the URL); `None` for none, or for a name or value
    /// that is not a record query's.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let mut q = RecordQuery::default();
        let mut any = false;
        for (k, v) in pairs {
            any = true;
            let text = Some(v.clone());
            let flag = || v.parse::<bool>().ok();
            let num = || v.parse::<i64>().ok();
            match k.as_str() {
                "status" => q.status = text,
                "priority" => q.priority = text,
                "channel" => q.channel = text,
                "feedback_type" => q.feedback_type = text,
                "department" => q.department = text,
                "owner" => q.owner = text,
                "nature" => q.nature = text,
                "problem_class" => q.problem_class = text,
                "q" => q.q = text,
                "sort" => q.sort = text,
                "unassigned" => q.unassigned = Some(flag()?),
                "open" => q.open = Some(flag()?),
                "escalated" => q.escalated = Some(flag()?),
                "archived" => q.archived = Some(flag()?),
                "overdue" => q.overdue = Some(flag()?),
                "from" => q.from = Some(num()?),
                "to" => q.to = Some(num()?),
                "page" => q.page = Some(num()?),
                "per_page" => q.per_page = Some(num()?),
                "due" => {
                    q.due = Some(match v.as_str() {
                        "overdue" => DueFilter::Overdue,
                        "near" => DueFilter::Near,
                        _ => return None,
                    })
                }
                _ => return None,
            }
        }
        any.then_some(q)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saved_view_survives_the_url_unchanged() {
        for view in SavedView::ALL {
            let mut q = view.query("王 office&=?");
            q.q = Some("空调 温度/50%".into());
            q.from = Some(1_700_000_000_000);
            q.page = Some(3);
            let back: RecordQuery = serde_urlencoded::from_str(&q.to_query_string())
                .unwrap_or_else(|e| panic!("{view:?}: {e}"));
            assert_eq!(back, q, "{view:?}");
        }
        let dept = SavedView::department("客服部");
        let back: RecordQuery = serde_urlencoded::from_str(&dept.to_query_string()).unwrap();
        assert_eq!(back, dept);
        assert_eq!(RecordQuery::default().to_query_string(), "");
        let pairs = |q: &RecordQuery| -> Vec<(String, String)> {
            serde_urlencoded::from_str(&q.to_query_string()).unwrap()
        };
        for view in SavedView::ALL {
            let mut q = view.query("王 office&=?");
            (q.from, q.q, q.page) = (Some(7), Some("空调 50%".into()), Some(2));
            assert_eq!(RecordQuery::from_pairs(pairs(&q)), Some(q), "{view:?}");
        }
        assert_eq!(RecordQuery::from_pairs(pairs(&dept)), Some(dept));
        assert_eq!(RecordQuery::from_pairs([]), None);
        let one = |k: &str, v: &str| RecordQuery::from_pairs([(k.to_string(), v.to_string())]);
        assert_eq!(one("color", "red"), None);
        assert_eq!(one("from", "soon"), None);
        assert_eq!(one("due", "later"), None);
    }

    #[test]
    fn views_select_what_their_names_say() {
        let mine = SavedView::Mine.query("li");
        assert_eq!((mine.owner.as_deref(), mine.open), (Some("li"), Some(true)));
        assert_eq!(SavedView::Unassigned.query("li").unassigned, Some(true));
        assert_eq!(SavedView::Overdue.query("li").due, Some(DueFilter::Overdue));
        assert_eq!(
            SavedView::Complaints.query("li").nature.as_deref(),
            Some("complaint")
        );
        assert_eq!(
            SavedView::All.query("li"),
            RecordQuery {
                per_page: Some(INBOX_PAGE),
                ..RecordQuery::default()
            }
        );
    }
}
