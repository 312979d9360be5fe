//! The optional "Customer contact" section of the capture and register
//! forms: phone, email and real name, and what the customer consents to.
//! Checked as the user leaves a field and on saving, by the same rule as
//! the server (`ContactDetails::normalised`); a bad field is marked, and
//! saving waits until it is right (nothing jumps).

use closeloop_shared::contact::{ConsentPurpose, ContactDetails, ContactError};
use leptos::prelude::*;

use crate::i18n::{contact_error, lang, t};

/// The section's state, owned by the form around it.
#[derive(Debug, Clone, Copy)]
pub struct ContactForm {
    pub phone: RwSignal<String>,
    pub email: RwSignal<String>,
    pub name: RwSignal<String>,
    pub follow_up: RwSignal<bool>,
    pub survey: RwSignal<bool>,
    /// Whether the disclosure is open.
    pub open: RwSignal<bool>,
    /// Fields left at least once (phone, email, name), and whether a save
    /// was tried: only then are their problems shown.
    left: RwSignal<[bool; 3]>,
    tried: RwSignal<bool>,
}

/// A form's contact, checked: nothing given, or the details and consents.
pub type CheckedContact = Option<(ContactDetails, Vec<ConsentPurpose>)>;

impl ContactForm {
    pub fn new() -> Self {
        ContactForm {
            phone: RwSignal::new(String::new()),
            email: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            follow_up: RwSignal::new(false),
            survey: RwSignal::new(false),
            open: RwSignal::new(false),
            left: RwSignal::new([false; 3]),
            tried: RwSignal::new(false),
        }
    }

    fn consents(&self) -> Vec<ConsentPurpose> {
        let mut out = Vec::new();
        if self.follow_up.get_untracked() {
            out.push(ConsentPurpose::FollowUp);
        }
        if self.survey.get_untracked() {
            out.push(ConsentPurpose::Survey);
        }
        out
    }

    /// On saving: the normalised details, or why not (every problem is
    /// then shown, and the section opened).
    pub fn checked(&self) -> Result<CheckedContact, ContactError> {
        let text = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let given = ContactDetails {
            phone: text(self.phone),
            email: text(self.email),
            name: text(self.name),
        };
        let consents = self.consents();
        if given == ContactDetails::default() && consents.is_empty() {
            return Ok(None);
        }
        self.tried.set(true);
        match given.normalised() {
            Ok(d) => Ok(Some((d, consents))),
            Err(e) => {
                self.open.set(true);
                Err(e)
            }
        }
    }

    /// Empties the section after a save.
    pub fn clear(&self) {
        for s in [self.phone, self.email, self.name] {
            s.set(String::new());
        }
        self.follow_up.set(false);
        self.survey.set(false);
        self.left.set([false; 3]);
        self.tried.set(false);
    }

    /// "Move to contact" for a form's free text: the phone and email found
    /// in `text` leave it for these fields (an ID number only leaves it).
    pub fn move_from(self, text: RwSignal<String>) -> Callback<()> {
        Callback::new(move |()| {
            let (rest, found) =
                closeloop_shared::personal_data::take_contact(&text.get_untracked());
            text.set(rest);
            self.fill(found);
        })
    }

    /// Puts what was found in free text into the fields and opens the section.
    pub fn fill(&self, found: ContactDetails) {
        if let Some(p) = found.phone {
            self.phone.set(p);
            self.left.update(|l| l[0] = true);
        }
        if let Some(e) = found.email {
            self.email.set(e);
            self.left.update(|l| l[1] = true);
        }
        self.open.set(true);
    }

    /// The problem of one field (tracked), once it should be shown.
    fn problem(&self, field: usize) -> Option<ContactError> {
        if !self.tried.get() && !self.left.with(|l| l[field]) {
            return None;
        }
        let value = [self.phone, self.email, self.name][field].get();
        if value.trim().is_empty() {
            return None;
        }
        let mut one = ContactDetails::default();
        *[&mut one.phone, &mut one.email, &mut one.name][field] = Some(value);
        one.normalised().err()
    }

    /// Consent ticked with nothing to contact by (tracked).
    fn empty(&self) -> bool {
        self.tried.get()
            && (self.follow_up.get() || self.survey.get())
            && [self.phone, self.email, self.name]
                .iter()
                .all(|s| s.with(|v| v.trim().is_empty()))
    }
}

impl Default for ContactForm {
    fn default() -> Self {
        Self::new()
    }
}

/// The section, closed until opened or needed.
#[component]
pub fn ContactSection(form: ContactForm) -> impl IntoView {
    let field = move |i: usize, key: &'static str, testid: &'static str, kind: &'static str| {
        let signal = [form.phone, form.email, form.name][i];
        let problem = move || form.problem(i);
        let error_id = format!("{testid}-error");
        view! {
            <label>
                <span>{move || t(key)}</span>
                <input
                    type=kind
                    data-testid=testid
                    autocomplete="off"
                    inputmode=if kind == "tel" { "tel" } else { "text" }
                    maxlength=if i == 1 { "254" } else { "60" }
                    placeholder=move || if i == 2 { t("contact.name.hint") } else { "" }
                    class:invalid=move || problem().is_some()
                    aria-invalid=move || if problem().is_some() { "true" } else { "false" }
                    aria-describedby=error_id.clone()
                    prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev))
                    on:blur=move |_| form.left.update(|l| l[i] = true)
                />
                <small class="field-problem" id=error_id data-testid=format!("{testid}-error")>
                    {move || problem().map(|e| contact_error(lang().get(), e.code()))}
                </small>
            </label>
        }
    };
    let consent = move |signal: RwSignal<bool>, purpose: ConsentPurpose| {
        let key = match purpose {
            ConsentPurpose::FollowUp => "contact.consent.follow_up",
            ConsentPurpose::Survey => "contact.consent.survey",
        };
        view! {
            <label class="check">
                <input
                    type="checkbox"
                    data-testid=format!("consent-{}", purpose.key())
                    prop:checked=move || signal.get()
                    on:change=move |ev| signal.set(event_target_checked(&ev))
                />
                <span>{move || t(key)}</span>
            </label>
        }
    };
    view! {
        <details class="contact" data-testid="contact-section" prop:open=move || form.open.get()>
            <summary on:click=move |ev| {
                // The page owns the state: it opens for a problem or a move.
                ev.prevent_default();
                form.open.update(|o| *o = !*o);
            }>{move || t("contact.section")}</summary>
            <p class="hint">{move || t("contact.hint")}</p>
            <div class="contact-fields">
                {field(0, "contact.phone", "contact-phone", "tel")}
                {field(1, "contact.email", "contact-email", "email")}
                {field(2, "contact.name", "contact-name", "text")}
            </div>
            <fieldset class="consents">
                <legend>{move || t("contact.consent")}</legend>
                {consent(form.follow_up, ConsentPurpose::FollowUp)}
                {consent(form.survey, ConsentPurpose::Survey)}
            </fieldset>
            {move || form.empty().then(|| view! {
                <p class="problem" role="alert" data-testid="contact-empty">
                    {move || contact_error(lang().get(), ContactError::Empty.code())}
                </p>
            })}
        </details>
    }
}
