//! A real `pi7 serve` on an ephemeral port, for the HTTP and browser tests:
//! started against a test's database, its URL read from what it prints on
//! stderr, stopped with SIGTERM when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::util::TestEnv;

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    /// The line that named the URL: what it serves, where.
    pub banner: String,
    stderr: Option<BufReader<std::process::ChildStderr>>,
}

/// One HTTP response: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Server {
    pub fn start(env: &TestEnv, args: &[&str]) -> Server {
        Self::start_with(env, args, &[])
    }

    /// [`start`](Self::start) with more environment variables.
    pub fn start_with(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut child = env
            .std_cmd_at(crate::util::NOW)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pi7 serve starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut line = String::new();
        let url = loop {
            line.clear();
            let read = stderr
                .read_line(&mut line)
                .expect("reading pi7 serve's stderr");
            assert!(read > 0, "pi7 serve ended before printing its URL");
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap_or_default();
                break url.trim_end_matches('/').to_string();
            }
        };
        Server {
            child,
            url,
            banner: line,
            stderr: Some(stderr),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn agent() -> ureq::Agent {
        ureq::AgentBuilder::new().build()
    }

    fn reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("no HTTP response: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| {
                let value = response.header(&name)?.to_string();
                Some((name.to_ascii_lowercase(), value))
            })
            .collect();
        let body = response.into_string().expect("a text body");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        Self::reply(Self::agent().get(&self.url(path)).call())
    }

    /// Any method, with any headers.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Self::agent().request(method, &self.url(path));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        Self::reply(request.call())
    }

    /// Sends it SIGTERM, as Ctrl-C would, without waiting for it to stop.
    pub fn signal_stop(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent");
    }

    /// POSTs `body` as JSON, as the original's page did.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.post_with(path, Some("application/json"), None, body)
    }

    pub fn post_with(
        &self,
        path: &str,
        content_type: Option<&str>,
        token: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut request = Self::agent().post(&self.url(path));
        if let Some(t) = content_type {
            request = request.set("Content-Type", t);
        }
        if let Some(t) = token {
            request = request.set("Authorization", &format!("Bearer {t}"));
        }
        Self::reply(request.send_string(body))
    }

    /// Stops it as Ctrl-C would (SIGTERM) and returns its exit code and
    /// everything else it printed on stderr.
    pub fn stop(mut self) -> (i32, String) {
        self.terminate()
    }

    fn terminate(&mut self) -> (i32, String) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal_stop();
        }
        let status = self.child.wait().expect("pi7 serve stops");
        let mut rest = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = stderr.read_to_string(&mut rest);
        }
        (status.code().unwrap_or(-1), rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let (_, stderr) = self.terminate();
            if !std::thread::panicking() {
                assert!(!stderr.contains("panicked"), "pi7 serve panicked: {stderr}");
            }
        }
    }
}
