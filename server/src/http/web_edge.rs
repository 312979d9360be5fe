//! What every request and response passes: requests from a foreign origin
//! are refused where a browser would carry the session for an attacker
//! (the sync socket, which browsers open cross-site, and writes that do
//! not carry a bearer token), and every response gets headers that keep
//! browsers from sniffing, framing or leaking it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// The deployment's view of itself, from `--public-url`.
#[derive(Debug, Clone, Default)]
pub(crate) struct WebEdge {
    /// `scheme://host[:port]`, lowercase; without it the Host header names
    /// the server.
    pub origin: Option<String>,
    /// Served over HTTPS: `Secure` `__Host-` cookie and HSTS.
    pub https: bool,
    /// `/metrics` needs `Authorization: Bearer <this>`; refused without one.
    pub metrics_token: Option<String>,
    /// Balancers and proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl WebEdge {
    /// From `--public-url` (`https://closeloop.example.com`); an error
    /// names what is wrong with it.
    pub(crate) fn new(
        public_url: Option<&str>,
        metrics_token: Option<String>,
    ) -> Result<Self, String> {
        let origin = public_url.map(origin_of).transpose()?;
        Ok(WebEdge {
            https: origin.as_deref().is_some_and(|o| o.starts_with("https://")),
            origin,
            metrics_token: metrics_token.filter(|t| !t.is_empty()),
            trusted_proxies: Vec::new(),
        })
    }

    /// The same edge behind these balancers or proxies.
    pub(crate) fn behind(mut self, proxies: Vec<IpAddr>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// The client's address: the peer's, or for a request through a
    /// trusted proxy the one the proxies name.
    pub(crate) fn client_addr(
        &self,
        extensions: &Extensions,
        headers: &HeaderMap,
    ) -> Option<IpAddr> {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Some(forwarded_client(peer, &forwarded, &self.trusted_proxies))
    }
}

/// `scheme://host[:port]` of a URL, lowercase, path dropped.
fn origin_of(url: &str) -> Result<String, String> {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
        .ok_or_else(|| format!("--public-url `{url}` must start with https:// or http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(format!("--public-url `{url}` names no host"));
    }
    Ok(format!("{scheme}://{host}"))
}

/// Whether the request's `Origin` (if any) is another site. No `Origin`:
/// not a browser's cross-site request (browsers send it on those).
fn foreign_origin(edge: &WebEdge, headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("null").to_ascii_lowercase();
    let same = match &edge.origin {
        Some(own) => origin == *own,
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_ascii_lowercase);
            let theirs = origin.split_once("://").map(|(_, h)| h);
            host.is_some() && theirs == host.as_deref()
        }
    };
    (!same).then_some(origin)
}

/// Requests a browser could be tricked into sending with the user's
/// cookie: the sync socket and writes without a bearer token.
fn needs_same_origin(req: &Request) -> bool {
    if req.uri().path() == "/sync" {
        return true;
    }
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    write && !bearer
}

/// The middleware: refuses foreign-origin requests that need the same
/// origin (403, nothing runs), adds security headers to every response.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let edge = &state.edge;
    let mut resp = match needs_same_origin(&req)
        .then(|| foreign_origin(edge, req.headers()))
        .flatten()
    {
        Some(origin) => {
            tracing::info!(
                origin = %crate::sync::cut(&origin, 100),
                path = %crate::sync::cut(req.uri().path(), 100),
                "refused a cross-site request"
            );
            AppError::CrossSite.into_response()
        }
        None => next.run(req).await,
    };
    let headers = resp.headers_mut();
    let mut set = |name, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    // The PWA and attachments set their own policy; JSON needs nothing.
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    if edge.https {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_gives_the_origin_and_whether_it_is_https() {
        let edge = WebEdge::new(Some("HTTPS://Feedback.example.com/app/"), None).unwrap();
        assert_eq!(edge.origin.as_deref(), Some("https://feedback.example.com"));
        assert!(edge.https);
        assert!(
            !WebEdge::new(Some("http://10.0.0.5:8080"), None)
                .unwrap()
                .https
        );
        assert!(WebEdge::new(Some("feedback.example.com"), None).is_err());
        assert!(WebEdge::new(Some("https://"), None).is_err());
    }

    #[test]
    fn origins_are_compared_with_the_host_or_the_public_url() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("shop.example:8080"));
        let by_host = WebEdge::default();
        assert_eq!(
            foreign_origin(&by_host, &h),
            None,
            "no Origin: not a browser"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://shop.example:8080"),
        );
        assert_eq!(foreign_origin(&by_host, &h), None);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(foreign_origin(&by_host, &h).is_some());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(foreign_origin(&by_host, &h).is_some());
        let public = WebEdge::new(Some("https://shop.example"), None).unwrap();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://shop.example"),
        );
        assert_eq!(foreign_origin(&public, &h), None);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://shop.example:8080"),
        );
        assert!(
            foreign_origin(&public, &h).is_some(),
            "the proxy's public name counts"
        );
    }
}

/// Who sent a request that arrived from `peer` with `X-Forwarded-For:
/// forwarded`: walking back from the peer, the first address that is not a
/// trusted proxy (anything before it the client could have written).
fn forwarded_client(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    let mut hops = forwarded.rsplit(',').map(str::trim);
    while trusted.contains(&client) {
        match hops.next().and_then(|h| h.parse().ok()) {
            Some(previous) => client = previous,
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod forwarded_tests {
    use super::forwarded_client;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_looked_through() {
        let lb = [ip("10.0.0.2"), ip("10.0.0.3")];
        // Straight from a client: its own address, whatever it claims.
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), "1.2.3.4", &lb),
            ip("203.0.113.9")
        );
        // Through the balancer: the address it saw.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "198.51.100.7", &lb),
            ip("198.51.100.7")
        );
        // A forged first hop stays the client's problem: the balancer's entry counts.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "1.1.1.1, 198.51.100.7, 10.0.0.3", &lb),
            ip("198.51.100.7")
        );
        // Nothing usable forwarded: the proxy itself.
        assert_eq!(forwarded_client(ip("10.0.0.2"), "", &lb), ip("10.0.0.2"));
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "garbage", &lb),
            ip("10.0.0.2")
        );
    }
}
