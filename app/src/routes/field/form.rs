//! The capture form's fields, what each may hold, and what is wrong with
//! them now, in the user's language.

use closeloop_shared::record::Attachment;

use super::*;

/// The form's inputs that can be wrong (`Form`: none in particular).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
    Channel,
    Source,
    Nickname,
    Description,
    Order,
    Received,
    Form,
}

/// Whether the draft was restored or saved since the form opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DraftState {
    None,
    Restored,
    Saved,
}

/// The capture form's fields (the contact's are in [`ContactForm`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) channel: RwSignal<String>,
    pub(super) source: RwSignal<String>,
    pub(super) nickname: RwSignal<String>,
    pub(super) description: RwSignal<String>,
    pub(super) order: RwSignal<String>,
    /// The received time's input value; `received_set`: the user changed it.
    pub(super) received: RwSignal<String>,
    pub(super) received_set: RwSignal<bool>,
    pub(super) at_event: RwSignal<bool>,
    pub(super) event_category: RwSignal<String>,
    pub(super) feedback_type: RwSignal<String>,
    pub(super) nature: RwSignal<String>,
    pub(super) complaint_kind: RwSignal<String>,
    pub(super) urgency: RwSignal<String>,
    pub(super) impact: RwSignal<String>,
    pub(super) aspects: RwSignal<Vec<String>>,
    /// Files kept on this device for the record (see `crate::attachments`).
    pub(super) attachments: RwSignal<Vec<Attachment>>,
}

pub(super) fn now_minute() -> String {
    local_time::input_minute(js_sys::Date::now() as i64)
}

impl Fields {
    pub(super) fn new(channel: String) -> Self {
        let s = || RwSignal::new(String::new());
        Fields {
            channel: RwSignal::new(channel),
            source: RwSignal::new(FeedbackDraft::default().source),
            nickname: s(),
            description: s(),
            order: s(),
            received: RwSignal::new(now_minute()),
            received_set: RwSignal::new(false),
            at_event: RwSignal::new(false),
            event_category: s(),
            feedback_type: s(),
            nature: s(),
            complaint_kind: s(),
            urgency: s(),
            impact: s(),
            aspects: RwSignal::new(Vec::new()),
            attachments: RwSignal::new(Vec::new()),
        }
    }

    pub(super) fn texts(&self) -> [RwSignal<String>; 12] {
        [
            self.channel,
            self.source,
            self.nickname,
            self.description,
            self.order,
            self.received,
            self.event_category,
            self.feedback_type,
            self.nature,
            self.complaint_kind,
            self.urgency,
            self.impact,
        ]
    }

    /// Subscribes the running effect to every field.
    pub(super) fn track(&self) {
        self.texts().iter().for_each(|s| s.track());
        self.received_set.track();
        self.at_event.track();
        self.aspects.track();
        self.attachments.track();
    }

    /// The fields as a draft to keep (untracked).
    pub(super) fn kept(&self) -> draft::Draft {
        let g = |s: RwSignal<String>| s.get_untracked();
        draft::Draft {
            channel: g(self.channel),
            source: g(self.source),
            nickname: g(self.nickname),
            description: g(self.description),
            order_number: g(self.order),
            received: self.received_set.get_untracked().then(|| g(self.received)),
            at_event: self.at_event.get_untracked(),
            event_category: g(self.event_category),
            feedback_type: g(self.feedback_type),
            nature: g(self.nature),
            complaint_kind: g(self.complaint_kind),
            urgency: g(self.urgency),
            impact: g(self.impact),
            aspects: self.aspects.get_untracked(),
            attachments: self.attachments.get_untracked(),
        }
    }

    /// Fills the form from a kept draft (a channel or source this
    /// taxonomy no longer offers is left as it is).
    pub(super) fn restore(&self, d: draft::Draft, taxonomy: &Taxonomy) {
        if taxonomy.field_channels().any(|c| c.key == d.channel) {
            self.channel.set(d.channel);
        }
        if taxonomy.has(TermList::Source, &d.source) {
            self.source.set(d.source);
        }
        self.nickname.set(d.nickname);
        self.description.set(d.description);
        self.order.set(d.order_number);
        if let Some(r) = d.received {
            self.received.set(r);
            self.received_set.set(true);
        }
        self.at_event.set(d.at_event);
        self.event_category.set(d.event_category);
        self.feedback_type.set(d.feedback_type);
        self.nature.set(d.nature);
        self.complaint_kind.set(d.complaint_kind);
        self.urgency.set(d.urgency);
        self.impact.set(d.impact);
        self.aspects.set(d.aspects);
        self.attachments.set(d.attachments);
    }

    /// Empties the form after a save or a discard; the channel and source
    /// stay (the next customer usually comes the same way).
    pub(super) fn reset(&self) {
        for s in &self.texts()[2..] {
            s.set(String::new());
        }
        self.received.set(now_minute());
        self.received_set.set(false);
        self.at_event.set(false);
        self.aspects.set(Vec::new());
        self.attachments.set(Vec::new());
    }

    /// The new record as typed (tracked), and whether the received time
    /// names no moment.
    pub(super) fn record(&self) -> (FeedbackDraft, bool) {
        let received = self
            .received_set
            .get()
            .then(|| self.received.get())
            .map(|r| local_time::parse(&r));
        let draft = FeedbackDraft {
            channel: self.channel.get(),
            source: self.source.get(),
            nickname: self.nickname.get(),
            description: self.description.get(),
            order_number: Some(self.order.get()),
            received_at_ms: received.flatten(),
            ..FeedbackDraft::default()
        };
        (draft, received.is_some_and(|r| r.is_none()))
    }

    /// The classification chosen (untracked): a complaint kind only for a
    /// complaint, an event category only at an event.
    pub(super) fn classification(&self) -> Vec<(Field, String)> {
        let complaint = self.nature.get_untracked() == "complaint";
        let event = self.at_event.get_untracked();
        [
            (Field::FeedbackType, self.feedback_type, true),
            (Field::Nature, self.nature, true),
            (Field::ComplaintKind, self.complaint_kind, complaint),
            (Field::Urgency, self.urgency, true),
            (Field::Impact, self.impact, true),
            (Field::EventCategory, self.event_category, event),
        ]
        .into_iter()
        .filter(|(_, _, shown)| *shown)
        .map(|(f, s, _)| (f, s.get_untracked()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// Every problem of a new record, by the draft's own rules (each found
/// one is set aside to look for the next), in the user's language.
pub(super) fn problems(
    mut d: FeedbackDraft,
    bad_time: bool,
    taxonomy: &Taxonomy,
    lang: Lang,
    now: i64,
) -> Vec<(Input, String)> {
    let mut out = Vec::new();
    if bad_time {
        out.push((
            Input::Received,
            tr(lang, "capture.received.bad").to_string(),
        ));
    }
    if d.order_number
        .as_deref()
        .is_some_and(|o| o.trim().chars().count() > MAX_ORDER_NUMBER_CHARS)
    {
        out.push((Input::Order, tr(lang, "capture.order.too_long").to_string()));
        d.order_number = None;
    }
    for _ in 0..8 {
        let Err(e) = d.write_new(&mut Automerge::new(), taxonomy, "-", now) else {
            break;
        };
        let input = match &e {
            RecordError::NicknameEmpty | RecordError::NicknameTooLong => {
                d.nickname = "-".into();
                Input::Nickname
            }
            RecordError::DescriptionEmpty | RecordError::DescriptionTooLong => {
                d.description = "-".into();
                Input::Description
            }
            RecordError::ReceivedInFuture | RecordError::ReceivedTooLongAgo => {
                d.received_at_ms = None;
                Input::Received
            }
            RecordError::UnknownChannel(_) => match taxonomy.channels.first() {
                Some(c) => {
                    d.channel = c.key.clone();
                    Input::Channel
                }
                None => Input::Form,
            },
            RecordError::UnknownValue {
                field: "source", ..
            } => match taxonomy.sources.first() {
                Some(s) => {
                    d.source = s.key.clone();
                    Input::Source
                }
                None => Input::Form,
            },
            _ => Input::Form,
        };
        out.push((input, record_error(lang, &e)));
        if input == Input::Form {
            break;
        }
    }
    out
}
