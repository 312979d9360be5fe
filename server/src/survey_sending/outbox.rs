//! Where a survey link goes: email or SMS, through a [`Transport`]. By
//! default both are written to an outbox file in the data directory (one
//! JSON line per message, readable only by the server's user), for a
//! deployment without a mail server or an SMS gateway, and for tests; an
//! SMTP server takes email when `--smtp-url` is given. An SMS gateway is a
//! vendor's HTTP API: it is one more `Transport`.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::AsyncWriteExt;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Email(String),
    Sms(String),
}

impl Address {
    /// `email` or `sms`, as the audit says it.
    pub fn channel(&self) -> &'static str {
        match self {
            Address::Email(_) => "email",
            Address::Sms(_) => "sms",
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Address::Email(s) | Address::Sms(s) => s,
        }
    }
}

/// One message to a customer.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: Address,
    pub subject: String,
    pub body: String,
}

/// Why a message did not leave; said in the audit without the address.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Sends messages of one kind.
pub trait Transport: Send + Sync {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Email and SMS transports.
#[derive(Clone)]
pub struct Outbox {
    email: Arc<dyn Transport>,
    sms: Arc<dyn Transport>,
}

impl Outbox {
    /// Both kinds to files in `dir`, email by SMTP when `smtp_url` is given
    /// (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`), sent from `mail_from`.
    pub fn new(dir: PathBuf, smtp_url: Option<&str>, mail_from: &str) -> Result<Outbox, String> {
        let file: Arc<dyn Transport> = Arc::new(FileOutbox { dir });
        let email: Arc<dyn Transport> = match smtp_url {
            Some(url) => Arc::new(Smtp::new(url, mail_from)?),
            None => file.clone(),
        };
        Ok(Outbox { email, sms: file })
    }

    pub async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        match message.to {
            Address::Email(_) => self.email.send(message).await,
            Address::Sms(_) => self.sms.send(message).await,
        }
    }
}

/// Appends each message to `<dir>/<email|sms>.jsonl`.
pub struct FileOutbox {
    dir: PathBuf,
}

impl Transport for FileOutbox {
    fn send<'a>(&'a self, m: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let failed = |e: std::io::Error| SendError(format!("the outbox file: {e}"));
            tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
            let line = serde_json::json!({
                "to": m.to.text(),
                "subject": m.subject,
                "body": m.body,
            });
            let mut options = tokio::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            options.mode(0o600);
            let path = self.dir.join(format!("{}.jsonl", m.to.channel()));
            let mut file = options.open(path).await.map_err(failed)?;
            file.write_all(format!("{line}\n").as_bytes())
                .await
                .map_err(failed)?;
            file.sync_data().await.map_err(failed)
        })
    }
}

/// Email through an SMTP server.
pub struct Smtp {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Smtp, String> {
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("--mail-from `{from}`: {e}"))?;
        Ok(Smtp { mailer, from })
    }
}

impl Transport for Smtp {
    fn send<'a>(&'a self, m: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let to: Mailbox =
                m.to.text()
                    .parse()
                    .map_err(|e| SendError(format!("not an email address: {e}")))?;
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&m.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(m.body.clone())
                .map_err(|e| SendError(format!("the message: {e}")))?;
            self.mailer
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| SendError(format!("the mail server: {e}")))
        })
    }
}
