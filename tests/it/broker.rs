//! A real mosquitto for the MQTT tests, started per test on a free
//! loopback port, and a subscriber that records what it hears.
//!
//! Without mosquitto installed, the MQTT tests say loudly that they were
//! skipped and pass; with `CI` set they must run, and fail instead.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};
use rumqttc::Outgoing;
use serde_json::Value;

use crate::util::wait_for;

/// mosquitto on PATH, or where Debian puts it (`/usr/sbin`, which is on
/// root's PATH only).
fn mosquitto_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("mosquitto"));
    on_path
        .chain([PathBuf::from("/usr/sbin/mosquitto")])
        .find(|p| p.is_file())
}

/// One broker process.
pub struct Broker {
    binary: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// A second listener's configuration (see [`Broker::start_secure`]).
    secure: String,
}

/// The TLS listener of [`Broker::start_secure`]: its port, the CA that
/// signed its certificate, and the one user it lets in.
pub struct Secure {
    pub port: u16,
    pub ca: PathBuf,
}

/// The user and password the TLS listener takes.
pub const USER: (&str, &str) = ("pi7", "s3cret");

impl Broker {
    /// A running broker, or `None` (after saying so) when mosquitto is not
    /// installed and `CI` is not set.
    pub fn start(test: &str) -> Option<Broker> {
        let Some(binary) = mosquitto_binary() else {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: mosquitto is not installed, and CI must run the MQTT tests (apt-get install mosquitto)");
            }
            eprintln!(
                "\n*** SKIPPED {test}: mosquitto is not installed (apt-get install mosquitto) ***\n"
            );
            return None;
        };
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut broker = Broker {
            binary,
            dir,
            port,
            child: None,
            secure: String::new(),
        };
        broker.restart();
        Some(broker)
    }

    /// A broker with, beside its plain listener, a second one that takes
    /// only TLS (a certificate for 127.0.0.1 from a CA made here with
    /// `openssl`) and only [`USER`] with its password.
    pub fn start_secure(test: &str) -> Option<(Broker, Secure)> {
        let mut broker = Broker::start(test)?;
        broker.stop();
        let dir = broker.dir.path().to_path_buf();
        let run = |program: &str, args: &[&str]| {
            let output = Command::new(program)
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("{program} runs: {e}"));
            assert!(
                output.status.success(),
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=pi7 test CA",
            ],
        );
        run(
            "openssl",
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.cnf",
                "-out",
                "server.pem",
            ],
        );
        run("mosquitto_passwd", &["-b", "-c", "passwd", USER.0, USER.1]);
        let port = free_port();
        let d = dir.display();
        broker.secure = format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {d}/passwd\n\
             cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
        );
        broker.restart();
        wait_for("the TLS listener", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some((
            broker,
            Secure {
                port,
                ca: dir.join("ca.pem"),
            },
        ))
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again) on its port and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker is running already");
        let config = self.dir.path().join("mosquitto.conf");
        // Each listener has its own settings, so the test's subscriber on
        // the plain one needs no password while the TLS one demands it; as
        // root, mosquitto keeps root (its files are in the test's directory).
        std::fs::write(
            &config,
            format!(
                "per_listener_settings true\nuser root\nmax_queued_messages 100000\n\
                 persistence true\npersistence_location {}/\n\
                 listener {} 127.0.0.1\nallow_anonymous true\n{}",
                self.dir.path().display(),
                self.port,
                self.secure
            ),
        )
        .expect("writing mosquitto.conf");
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).unwrap();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        wait_for("the broker to listen", || {
            TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
    }

    /// Stops the broker as an administrator would (SIGTERM): it saves its
    /// sessions, and the messages queued for them, for its restart.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A message as a subscriber got it.
#[derive(Debug, Clone)]
pub struct Heard {
    pub topic: String,
    pub body: Value,
    pub properties: Vec<(String, String)>,
}

impl Heard {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An MQTT 5 subscriber on `filter` that records every message, and
/// reconnects (with a persistent session) when the broker goes away.
pub struct Subscriber {
    heard: Arc<Mutex<Vec<Heard>>>,
    client: Client,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Subscriber {
    pub fn new(broker: &Broker, filter: &str) -> Subscriber {
        let mut options = MqttOptions::new(
            format!("test-sub-{}", uuid::Uuid::new_v4().simple()),
            "127.0.0.1",
            broker.port,
        );
        options.set_clean_start(false);
        options.set_session_expiry_interval(Some(3600));
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 1000);
        client
            .subscribe_many([Filter::new(filter, QoS::AtLeastOnce)])
            .unwrap();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let subscribed = Arc::new(Mutex::new(false));
        let thread = {
            let resubscribe = client.clone();
            let filter = filter.to_string();
            let heard = Arc::clone(&heard);
            let subscribed = Arc::clone(&subscribed);
            std::thread::spawn(move || loop {
                match connection.recv() {
                    Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                        *subscribed.lock().unwrap() = true;
                    }
                    // A broker that lost the session (restarted without
                    // it) forgot the subscription too.
                    Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) if !ack.session_present => {
                        let _ = resubscribe.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                    }
                    Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => return,
                    Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                        heard.lock().unwrap().push(Heard {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            body: serde_json::from_slice(&p.payload).unwrap_or(Value::Null),
                            properties: p.properties.map(|p| p.user_properties).unwrap_or_default(),
                        });
                    }
                    Ok(Ok(_)) => {}
                    // The broker went away: rumqttc reconnects on the next
                    // call, resuming the session.
                    Ok(Err(_)) => std::thread::sleep(Duration::from_millis(100)),
                    Err(_) => return,
                }
            })
        };
        wait_for("the subscription", || *subscribed.lock().unwrap());
        Subscriber {
            heard,
            client,
            thread: Some(thread),
        }
    }

    pub fn heard(&self) -> Vec<Heard> {
        self.heard.lock().unwrap().clone()
    }

    /// Waits until some message heard satisfies `done`.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&[Heard]) -> bool) {
        wait_for(what, || done(&self.heard.lock().unwrap()));
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
        if let Some(thread) = self.thread.take() {
            // The connection may be gone already; the thread ends either way.
            let _ = thread.join();
        }
    }
}

/// Publishes one message with QoS 1 and waits for the broker's PUBACK.
pub fn publish(broker: &Broker, topic: &str, body: &[u8]) {
    let options = MqttOptions::new(
        format!("test-pub-{}", uuid::Uuid::new_v4().simple()),
        "127.0.0.1",
        broker.port,
    );
    let (client, mut connection) = Client::new(options, 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, body.to_vec())
        .unwrap();
    wait_for(&format!("the broker's PUBACK for {topic}"), || {
        matches!(
            connection.recv(),
            Ok(Ok(Event::Incoming(Packet::PubAck(_))))
        )
    });
    let _ = client.disconnect();
    let _ = connection.recv_timeout(Duration::from_millis(200));
}
