//! pi7 on an MQTT broker, the original's integration bus: the [`relay`]
//! publishes the event log (log → broker), the [`inbox`] takes requests and
//! commands published by others (broker → pi7). [`wire`] says how an event
//! looks on the broker. This module holds what both share: where the broker
//! is and how to connect to it.
//!
//! The client is rumqttc's MQTT 5 client, so that an event's envelope can
//! travel beside its body as user properties; MQTT 3.1.1 subscribers on the
//! same broker get the body alone.

pub mod inbox;
pub mod relay;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use rumqttc::v5::MqttOptions;
use rumqttc::{TlsConfiguration, Transport};

use crate::error::InputError;

/// Where the broker is and who pi7 is on it, from `mqtt://` or `mqtts://`
/// `[USER[:PASSWORD]@]HOST[:PORT]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Broker {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A PEM file of certificate authorities to trust instead of the
    /// system's (`PI7_MQTT_CA`), for a broker with its own CA.
    pub ca_file: Option<String>,
}

impl std::fmt::Debug for Broker {
    // The password stays out of every message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let user = match &self.username {
            Some(u) => format!("{u}@"),
            None => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{user}{host}:{}", self.port)
    }
}

impl Broker {
    /// Reads a broker URL. `username`/`password` (from the environment)
    /// fill in what the URL does not say.
    pub fn parse(
        url: &str,
        username: Option<String>,
        password: Option<String>,
        ca_file: Option<String>,
    ) -> Result<Broker, InputError> {
        let bad = |why: &str| {
            InputError(format!(
                "bad broker URL '{}': {why} (expected mqtt://HOST:PORT or mqtts://HOST:PORT)",
                redact(url)
            ))
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else {
            return Err(bad("unknown scheme"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(bad("a broker URL has no path"));
        }
        let (user_info, host_port) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("unclosed '['"))?;
            (host, after.strip_prefix(':'))
        } else {
            match host_port.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => {
                if tls {
                    8883
                } else {
                    1883
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        let (mut url_user, mut url_password) = (None, None);
        if let Some(info) = user_info {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            url_user = Some(percent_decode(u).ok_or_else(|| bad("bad %-escape in the user"))?);
            url_password = p
                .map(|p| percent_decode(p).ok_or_else(|| bad("bad %-escape in the password")))
                .transpose()?;
        }
        Ok(Broker {
            tls,
            host: host.to_string(),
            port,
            username: url_user.or(username),
            password: url_password.or(password),
            ca_file,
        })
    }

    /// rumqttc's options for one connection as `client_id`.
    pub fn options(&self, client_id: &str) -> Result<MqttOptions, InputError> {
        let mut options = MqttOptions::new(client_id, &self.host, self.port);
        // Short, so that a dead connection is noticed soon and an idle
        // connection's loop wakes to look at its stop flag.
        options.set_keep_alive(Duration::from_secs(5));
        options.set_connection_timeout(5);
        // Without it, Nagle's algorithm holds a small publish back until
        // the broker's delayed ACK of the one before (tens of ms a message).
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        options.set_network_options(network);
        if let Some(user) = &self.username {
            options.set_credentials(user.clone(), self.password.clone().unwrap_or_default());
        }
        if self.tls {
            options.set_transport(Transport::tls_with_config(self.tls_config()?));
        }
        Ok(options)
    }

    fn tls_config(&self) -> Result<TlsConfiguration, InputError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| InputError(format!("cannot read the CA file {path}: {e}")))?;
                if certs.is_empty() {
                    return Err(InputError(format!(
                        "the CA file {path} holds no certificate"
                    )));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        InputError(format!("the CA file {path} holds a bad certificate: {e}"))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    // A system certificate rustls cannot read is skipped, as
                    // a browser would.
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(InputError(
                        "no system certificate authorities found for mqtts://; set PI7_MQTT_CA to a PEM file".into(),
                    ));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| InputError(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfiguration::Rustls(Arc::new(config)))
    }
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let info = &url[scheme_end + 3..at];
            match info.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Waits between attempts to reach a broker: doubling from half a second up
/// to ten, so that a broker back after a blip is found again soon and one
/// that stays away is not hammered.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// The wait before the next attempt; each call doubles the one after.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// Sleeps for `wait`, waking early when `stop` is raised.
pub fn sleep_unless(stop: &std::sync::atomic::AtomicBool, wait: Duration) {
    let step = Duration::from_millis(50);
    let deadline = std::time::Instant::now() + wait;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep(step.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Broker, InputError> {
        Broker::parse(url, None, None, None)
    }

    #[test]
    fn a_broker_url_names_host_port_and_credentials() {
        let b = parse("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((b.tls, b.host.as_str(), b.port), (false, "127.0.0.1", 1884));
        let b = parse("mqtts://al%40ice:p%3Ass@broker.example").unwrap();
        assert_eq!(
            (b.tls, b.port, b.username.as_deref(), b.password.as_deref()),
            (true, 8883, Some("al@ice"), Some("p:ss"))
        );
        assert_eq!(b.to_string(), "mqtts://al@ice@broker.example:8883");
        let b = parse("mqtt://[::1]:1883/").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("::1", 1883));
    }

    #[test]
    fn the_environment_fills_in_what_the_url_does_not_say() {
        let b = Broker::parse("mqtt://h", Some("env".into()), Some("pw".into()), None).unwrap();
        assert_eq!(
            (b.username.as_deref(), b.password.as_deref()),
            (Some("env"), Some("pw"))
        );
        let b = Broker::parse("mqtt://url@h", Some("env".into()), None, None).unwrap();
        assert_eq!(b.username.as_deref(), Some("url"));
    }

    #[test]
    fn a_bad_broker_url_is_one_line_without_the_password() {
        for (url, why) in [
            ("http://h:1", "unknown scheme"),
            ("mqtt://h:99999", "the port is not a number"),
            ("mqtt://h:0", "the port is not a number"),
            ("mqtt://:1883", "no host"),
            ("mqtt://h/x", "no path"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains('\n'));
        }
        let e = parse("ftp://bob:secret@h").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(e.contains("bob:***@h"), "{e}");
    }

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let mut b = Backoff::new();
        let waits: Vec<u64> = (0..7).map(|_| b.next_wait().as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
        b.reset();
        assert_eq!(b.next_wait(), Duration::from_millis(500));
    }
}
