//! `pi7 serve` over HTTP: the original's REST API with its exact request
//! bodies, pi7's JSON API, the pages, the live stream, errors by status,
//! and the command line and the server seeing one database.

use std::io::BufRead;

use serde_json::{json, Value};

use crate::server::Server;
use crate::util::{example, wait_for, TestEnv};

/// The original page's body: a JSON string whose content is the order's JSON.
const ORIGINAL_BODY: &str = r#""{\"customer\": \"christophe\", \"reservations\": [{\"id\": 1, \"reserved\": \"some hotel\"}, {\"id\": 2, \"reserved\": \"a plane\"}]}""#;

fn ids(reservations: &Value) -> Vec<String> {
    reservations
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["_id"].as_str().expect("an _id").to_string())
        .collect()
}

#[test]
fn the_original_story_over_its_rest_api() {
    let env = TestEnv::new();
    let server = Server::start(&env, &[]);
    let submitted = server.post("/api/web/salesorder/request", ORIGINAL_BODY);
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let process = submitted.json()["processId"].as_str().unwrap().to_string();

    let unconfirmed = server.get("/api/store/reservation/unconfirmed");
    assert_eq!(unconfirmed.status, 200);
    let reservations = ids(&unconfirmed.json());
    assert_eq!(reservations.len(), 2);
    for id in &reservations {
        // The original's page: the reservation id as a JSON string.
        let confirmed = server.post("/api/store/reservation/confirmed", &format!("\"{id}\""));
        assert_eq!(confirmed.status, 200, "{}", confirmed.body);
        assert_eq!(confirmed.json()["object"]["status"], "confirmed");
    }

    let orders = server.get("/api/store/salesorder").json();
    assert_eq!(orders.as_array().unwrap().len(), 1);
    let order = &orders[0];
    assert_eq!(order["processId"], process.as_str());
    assert_eq!(order["object"]["customer"], "christophe");
    assert_eq!(order["object"]["status"], "confirmed");
    assert_eq!(
        server
            .get("/api/store/reservation/confirmed")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        server.get("/api/store/reservation/unconfirmed").json(),
        json!([])
    );

    // The command line sees the same system at once.
    let from_cli = env.json(&["show", &process]);
    assert_eq!(&from_cli, order);
    let topics: Vec<String> = env
        .json_lines(&["events"])
        .iter()
        .map(|e| e["topic"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        topics.join(" "),
        "salesorder/request reservation/confirm reservation/confirm salesorder/confirm"
    );
}

#[test]
fn an_order_may_also_be_a_json_object_and_a_cli_write_is_served_at_once() {
    let env = TestEnv::new();
    let server = Server::start(&env, &[]);
    let text = std::fs::read_to_string(example("order.json")).unwrap();
    let submitted = server.post("/api/web/salesorder/request", &text);
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let body = submitted.json();
    assert_eq!(body["salesorder"]["object"]["status"], "pending");
    assert_eq!(body["reservations"].as_array().unwrap().len(), 2);

    let cli = env.submit_example();
    let orders = server.get("/api/store/salesorder").json();
    let processes: Vec<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["processId"].as_str().unwrap())
        .collect();
    assert_eq!(
        processes,
        [body["processId"].as_str().unwrap(), cli.process.as_str()]
    );
}

#[test]
fn bad_requests_get_the_cli_message_a_status_and_change_nothing() {
    let env = TestEnv::new();
    env.submit_example();
    let server = Server::start(&env, &[]);
    let before = env.snapshot();

    // The same words the command line prints for the same order.
    let bad = r#"{"customer": "", "reservations": [{"id": 1, "reserved": "x"}]}"#;
    let file = env.write("bad.json", bad);
    let cli = env.fails(&["submit", file.to_str().unwrap()], 2);
    let reply = server.post("/api/web/salesorder/request", bad);
    assert_eq!(reply.status, 400);
    let cli_message = cli.trim().strip_prefix("pi7: error: ").unwrap();
    let expected = cli_message.replacen(file.to_str().unwrap(), "request body", 1);
    assert_eq!(
        reply.json(),
        json!({"error": expected, "kind": "bad_input"})
    );

    // method, path, content type, body, status, kind
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, u16, &'a str);
    let cases: [Case; 9] = [
        (
            "POST",
            "/api/web/salesorder/request",
            Some("application/json"),
            "{",
            400,
            "bad_input",
        ),
        (
            "POST",
            "/api/web/salesorder/request",
            None,
            ORIGINAL_BODY,
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/web/salesorder/request",
            Some("text/plain"),
            ORIGINAL_BODY,
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/store/reservation/confirmed",
            Some("application/json"),
            "\"abcdef12\"",
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/store/reservation/confirmed",
            Some("application/json"),
            "\"ab\"",
            400,
            "bad_input",
        ),
        (
            "POST",
            "/api/store/reservation/confirmed",
            Some("application/json"),
            "42",
            400,
            "bad_input",
        ),
        (
            "POST",
            "/api/v1/reservations/confirm",
            Some("application/json"),
            r#"{"ids": ["x"], "typo": 1}"#,
            400,
            "bad_input",
        ),
        (
            "GET",
            "/api/store/reservation/bogus",
            None,
            "",
            400,
            "bad_input",
        ),
        (
            "GET",
            "/api/v1/events?since=abc",
            None,
            "",
            400,
            "bad_input",
        ),
    ];
    for (method, path, content_type, body, status, kind) in cases {
        let reply = if method == "GET" {
            server.get(path)
        } else {
            server.post_with(path, content_type, None, body)
        };
        assert_eq!(
            reply.status, status,
            "{method} {path} {body}: {}",
            reply.body
        );
        let json = reply.json();
        assert_eq!(json["kind"], kind, "{method} {path}");
        assert!(!json["error"].as_str().unwrap().is_empty());
    }
    let huge = format!("\"{}\"", "a".repeat(300 * 1024));
    let reply = server.post("/api/web/salesorder/request", &huge);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "too_large");
    let missing = server.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["kind"], "not_found");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn refusals_and_ambiguity_are_conflicts() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let server = Server::start(&env, &[]);
    for id in &order.reservations {
        assert_eq!(
            server
                .post("/api/store/reservation/confirmed", &format!("\"{id}\""))
                .status,
            200
        );
    }
    let path = format!("/api/v1/processes/{}/cancel", order.process);
    let reply = server.post(&path, "{}");
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "refused");
    // Confirming again changes nothing and is not an error, as on the CLI.
    let again = server.post(
        "/api/store/reservation/confirmed",
        &format!("\"{}\"", order.reservations[0]),
    );
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json()["object"]["history"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn an_ambiguous_prefix_is_a_conflict_with_the_cli_message() {
    let env = TestEnv::new();
    let (prefix, candidates) = crate::ids::ambiguous_reservation_prefix(&env);
    let server = Server::start(&env, &[]);
    let before = env.snapshot();
    let cli = env.fails(&["confirm", &prefix], 3);
    for reply in [
        server.get(&format!("/api/v1/documents/{prefix}")),
        server.post("/api/store/reservation/confirmed", &format!("\"{prefix}\"")),
        server.post(
            "/api/v1/reservations/confirm",
            &json!({ "ids": [prefix] }).to_string(),
        ),
    ] {
        assert_eq!(reply.status, 409, "{}", reply.body);
        let error = reply.json();
        assert_eq!(error["kind"], "ambiguous");
        let message = error["error"].as_str().unwrap();
        assert_eq!(
            message,
            cli.strip_prefix("pi7: error: ").unwrap().trim_end()
        );
        for id in &candidates {
            assert!(message.contains(id.as_str()), "{message}");
        }
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn no_cors_unless_asked() {
    let env = TestEnv::new();
    env.submit_example();
    let server = Server::start(&env, &[]);
    let origin = ("Origin", "http://elsewhere.example");
    let read = server.request("GET", "/api/store/salesorder", &[origin]);
    assert_eq!(read.status, 200);
    let preflight = server.request(
        "OPTIONS",
        "/api/store/reservation/confirmed",
        &[
            origin,
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
    );
    assert_eq!(preflight.status, 405, "{}", preflight.body);
    assert_eq!(preflight.json()["kind"], "usage");
    for reply in [&read, &preflight] {
        let cors: Vec<_> = reply
            .headers
            .iter()
            .filter(|(name, _)| name.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
    }
}

#[test]
fn the_json_api_covers_the_command_line() {
    let env = TestEnv::new();
    let server = Server::start(&env, &[]);
    let submitted = server.post("/api/v1/orders", r#"[{"customer": "koen", "reservations": [{"id": 1, "reserved": "a bike"}]},
        {"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}]"#);
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let submitted = submitted.json();
    let koen = submitted[0]["processId"].as_str().unwrap().to_string();
    let christophe = submitted[1]["processId"].as_str().unwrap().to_string();

    let koens = server.get("/api/v1/orders?customer=koen").json();
    assert_eq!(koens.as_array().unwrap().len(), 1);
    assert_eq!(koens[0]["processId"], koen.as_str());
    let theirs = server
        .get(&format!(
            "/api/v1/reservations?process={}",
            &christophe[..8]
        ))
        .json();
    let reservation_ids = ids(&theirs);
    assert_eq!(reservation_ids.len(), 2);

    let confirmed = server.post(
        "/api/v1/reservations/confirm",
        &json!({"ids": [&reservation_ids[0][..8]]}).to_string(),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let confirmed = confirmed.json();
    assert_eq!(
        confirmed["reservations"][0]["object"]["status"],
        "confirmed"
    );
    assert_eq!(confirmed["orders"][0]["object"]["status"], "pending");

    let shown = server
        .get(&format!("/api/v1/documents/{}", &reservation_ids[0][..8]))
        .json();
    assert_eq!(shown["kind"], "reservation");
    assert_eq!(shown["id"], reservation_ids[0].as_str());
    assert_eq!(shown["events"].as_array().unwrap().len(), 2);

    let amended = server.post(
        &format!("/api/v1/processes/{christophe}/amend"),
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}]}"#,
    );
    assert_eq!(amended.status, 200, "{}", amended.body);
    assert_eq!(
        amended.json()["salesorder"]["object"]["status"],
        "confirmed"
    );

    let rejected = server.post("/api/v1/reservations/reject", &json!({"ids": ids(&server.get(&format!("/api/v1/reservations?process={koen}")).json()), "reason": "sold out"}).to_string());
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(
        rejected.json()["orders"][0]["object"]["status"],
        "cancelled"
    );

    let view = server
        .get(&format!("/api/v1/processes/{christophe}"))
        .json();
    let statuses: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.last(), Some(&"confirmed"));
    assert_eq!(server.get("/api/v1/pending").json(), json!([]));
    let expired = server.post("/api/v1/expire", r#"{"olderThan": "1h"}"#);
    assert_eq!(expired.status, 200, "{}", expired.body);
    assert_eq!(expired.json()["reservations"], json!([]));
    let cancelled = server.post(
        &format!("/api/v1/processes/{koen}/cancel"),
        r#"{"reason": "changed my mind"}"#,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let all = server.get("/api/v1/events").json();
    let cli: Vec<Value> = env.json_lines(&["events"]);
    assert_eq!(all.as_array().unwrap(), &cli);
    let since = server.get("/api/v1/events?since=3&limit=2").json();
    let seqs: Vec<u64> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 5]);
    let topic = server.get("/api/v1/events?topic=salesorder/request").json();
    assert_eq!(topic.as_array().unwrap().len(), 3);

    let doc = server.get("/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/orders",
        "/api/v1/reservations/confirm",
        "/api/v1/events",
        "/api/v1/events/stream",
        "/api/v1/processes/{id}",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "the OpenAPI document lacks {path}"
        );
    }
}

#[test]
fn a_cli_write_shows_up_in_the_live_stream() {
    let env = TestEnv::new();
    let server = Server::start(&env, &[]);
    let response = ureq::get(&server.url("/api/v1/events/stream?since=0"))
        .call()
        .expect("the stream opens");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reader = std::io::BufReader::new(response.into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ") {
                if sender.send(data.to_string()).is_err() {
                    return;
                }
            }
        }
    });
    let order = env.submit_example();
    // Only a safeguard against a hang: the event is asserted, not the time.
    let data = received
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the CLI's event arrives on the stream");
    let event: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(event["seq"], 1);
    assert_eq!(event["topic"], "salesorder/request");
    assert_eq!(event["processId"], order.process.as_str());
}

#[test]
fn the_pages_show_the_data_escaped() {
    let env = TestEnv::new();
    env.submit_stdin(r#"{"customer": "<img src=x onerror=alert(1)>", "reservations": [{"id": 1, "reserved": "<b>bold</b>"}]}"#);
    let order = env.submit_example();
    let server = Server::start(&env, &[]);
    let frontend = server.get("/");
    assert_eq!(frontend.status, 200);
    assert!(frontend.body.contains("id=\"order-form\""));
    for path in ["/backend.html", "/all.html", "/fragments/backend"] {
        let page = server.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}"
        );
        assert!(
            !page.body.contains("<img src=x"),
            "{path} holds the name unescaped"
        );
        assert!(page.body.contains("&lt;b&gt;bold&lt;/b&gt;"), "{path}");
        assert!(page
            .body
            .contains(&format!("data-confirm=\"{}\"", order.reservations[0])));
    }
    let log = server.get("/log.html");
    assert_eq!(log.body.matches("class=\"event\"").count(), 2);
    assert!(!log.body.contains("<img src=x"));
    let process = server.get(&format!("/process/{}", &order.process[..8]));
    assert_eq!(process.status, 200);
    assert!(process.body.contains("<svg class=\"flow\""));
    assert!(process.body.contains("<svg class=\"timeline\""));
    let unknown = server.get("/process/abcdef12");
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("no "));
}

#[test]
fn many_clients_and_the_cli_at_once_lose_nothing() {
    let env = TestEnv::new();
    let orders: Vec<_> = (0..8).map(|_| env.submit_example()).collect();
    let server = Server::start(&env, &[]);
    let cli_ids: Vec<String> = orders[..2]
        .iter()
        .flat_map(|o| o.reservations.clone())
        .collect();
    let http_ids: Vec<String> = orders[2..]
        .iter()
        .flat_map(|o| o.reservations.clone())
        .collect();
    std::thread::scope(|scope| {
        let cli = scope.spawn(|| {
            let mut args = vec!["confirm"];
            args.extend(cli_ids.iter().map(String::as_str));
            env.ok(&args)
        });
        let clients: Vec<_> = http_ids
            .iter()
            .map(|id| {
                let server = &server;
                scope.spawn(move || {
                    server.post("/api/store/reservation/confirmed", &format!("\"{id}\""))
                })
            })
            .collect();
        for client in clients {
            let reply = client.join().unwrap();
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        cli.join().unwrap();
    });
    let orders = server.get("/api/store/salesorder").json();
    for order in orders.as_array().unwrap() {
        assert_eq!(order["object"]["status"], "confirmed");
    }
    let confirms = env.json_lines(&["events", "--topic", "salesorder/confirm"]);
    assert_eq!(confirms.len(), 8);
}

#[test]
fn writes_need_the_token_when_there_is_one() {
    let env = TestEnv::new();
    let server = Server::start(&env, &["--token", "s3cret"]);
    let refused = server.post_with(
        "/api/web/salesorder/request",
        Some("application/json"),
        None,
        ORIGINAL_BODY,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["kind"], "unauthorized");
    let wrong = server.post_with(
        "/api/web/salesorder/request",
        Some("application/json"),
        Some("guess"),
        ORIGINAL_BODY,
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(server.get("/api/store/salesorder").json(), json!([]));
    let allowed = server.post_with(
        "/api/web/salesorder/request",
        Some("application/json"),
        Some("s3cret"),
        ORIGINAL_BODY,
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body);

    // The pages can write too: their script sends the token a person gives
    // it (kept in the tab's sessionStorage), which the page never holds.
    for page in ["/", "/backend.html", "/all.html"] {
        let html = server.get(page);
        assert_eq!(html.status, 200);
        assert!(html.body.contains("\"Bearer \" + token"), "{page}");
        assert!(html.body.contains("sessionStorage"), "{page}");
        assert!(!html.body.contains("s3cret"), "{page}");
    }
}

#[test]
fn a_reachable_address_without_a_token_is_refused() {
    let env = TestEnv::new();
    let stderr = env.fails(&["serve", "--addr", "0.0.0.0:0"], 2);
    assert!(stderr.contains("--token"), "{stderr}");
    assert!(!env.db().exists());
}

#[test]
fn sigterm_stops_it_cleanly() {
    let env = TestEnv::new();
    let server = Server::start(&env, &[]);
    assert_eq!(
        server
            .post("/api/web/salesorder/request", ORIGINAL_BODY)
            .status,
        200
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // Its writes are in the database file itself, not left in a WAL that
    // a copy of the file alone would miss.
    let mut wal = env.db().to_path_buf().into_os_string();
    wal.push("-wal");
    assert!(
        !std::path::Path::new(&wal).exists(),
        "a WAL was left behind"
    );
    assert_eq!(env.json_lines(&["events"]).len(), 1);
}

/// Whether the server has read every byte `client` sent it over loopback:
/// the client's socket has nothing unacknowledged and the server's side of
/// the connection has nothing unread. Then the request is in the server's
/// hands, however long it takes to get to it.
#[cfg(target_os = "linux")]
fn server_has_read(client: &std::net::TcpStream) -> bool {
    let local = client.local_addr().unwrap().port();
    let remote = client.peer_addr().unwrap().port();
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port =
        |address: &str| u16::from_str_radix(address.rsplit(':').next().unwrap(), 16).unwrap();
    let queues = |from: u16, to: u16| {
        table.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (port(fields[1]) == from && port(fields[2]) == to).then(|| {
                let (tx, rx) = fields[4].split_once(':').unwrap();
                (
                    u64::from_str_radix(tx, 16).unwrap(),
                    u64::from_str_radix(rx, 16).unwrap(),
                )
            })
        })
    };
    matches!(
        (queues(local, remote), queues(remote, local)),
        (Some((0, _)), Some((_, 0)))
    )
}

/// A request sent on a connection of its own, which the server has read
/// once this returns (see [`server_has_read`]): it is in the server's
/// hands, wherever it waits there.
#[cfg(target_os = "linux")]
fn in_flight(server: &Server, path: &str, body: &str) -> std::net::TcpStream {
    use std::io::Write;
    let address = server.url.strip_prefix("http://").unwrap();
    let mut client = std::net::TcpStream::connect(address).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.set_nodelay(true).unwrap();
    client.write_all(request.as_bytes()).unwrap();
    wait_for("the server to read the request", || {
        server_has_read(&client)
    });
    client
}

/// The whole answer on a connection from [`in_flight`]: its status line
/// and its body.
#[cfg(target_os = "linux")]
fn answer(mut client: std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut response = String::new();
    client.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[test]
#[cfg(target_os = "linux")]
fn a_request_in_flight_finishes_when_sigterm_arrives() {
    let env = TestEnv::new();
    env.submit_example();
    let server = Server::start(&env, &[]);
    // Another writer holds the database, so the order waits inside the
    // server for as long as the test says.
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let client = in_flight(&server, "/api/web/salesorder/request", ORIGINAL_BODY);
    server.signal_stop();
    holder.execute_batch("COMMIT").unwrap();

    let (status, body) = answer(client);
    assert!(status.starts_with("HTTP/1.1 200"), "{status} {body}");
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        env.json(&["list", "orders"]).as_array().unwrap().len(),
        2,
        "the order the server answered for is in the database"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn writes_that_wait_together_land_each_whole_or_not_at_all() {
    let env = TestEnv::new();
    let orders: Vec<_> = (0..3).map(|_| env.submit_example()).collect();
    let done = env.submit_example();
    let mut args = vec!["confirm"];
    args.extend(done.reservations.iter().map(String::as_str));
    env.ok(&args);
    let server = Server::start(&env, &[]);
    let done_before = env.json(&["show", &done.process]);
    let events_before = env.json_lines(&["events"]).len();

    // While another writer holds the lock, every write queues up in the
    // server; once it lets go, the writer takes those waiting together.
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut confirms = Vec::new();
    for id in orders.iter().flat_map(|o| &o.reservations) {
        confirms.push(in_flight(
            &server,
            "/api/store/reservation/confirmed",
            &format!("\"{id}\""),
        ));
    }
    // Refused by the order's state, between the others.
    let cancel = in_flight(
        &server,
        &format!("/api/v1/processes/{}/cancel", done.process),
        "{}",
    );
    holder.execute_batch("COMMIT").unwrap();

    for client in confirms {
        let (status, body) = answer(client);
        assert!(status.starts_with("HTTP/1.1 200"), "{status} {body}");
        assert_eq!(
            crate::util::parse_json(&body)["object"]["status"],
            "confirmed"
        );
    }
    let (status, body) = answer(cancel);
    assert!(status.starts_with("HTTP/1.1 409"), "{status} {body}");
    assert_eq!(crate::util::parse_json(&body)["kind"], "refused");
    for order in &orders {
        assert_eq!(
            env.json(&["show", &order.process])["object"]["status"],
            "confirmed"
        );
    }
    assert_eq!(env.json(&["show", &done.process]), done_before);
    // Two confirmations and the order's confirmation for each order, and
    // nothing of the refused cancellation.
    assert_eq!(env.json_lines(&["events"]).len(), events_before + 9);
}

#[test]
fn a_database_locked_past_every_retry_is_503_and_nothing_changes() {
    let env = TestEnv::new();
    let order = env.submit_example();
    // Each of the store's attempts waits 20 ms instead of 5 s for the lock.
    let server = Server::start_with(&env, &[], &[("PI7_BUSY_TIMEOUT_MS", "20")]);
    let before = env.snapshot();
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let confirm = format!("\"{}\"", order.reservations[0]);
    let busy = server.post("/api/store/reservation/confirmed", &confirm);
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.json()["kind"], "busy");
    assert_eq!(
        busy.json()["error"],
        "the database stays busy (locked by another pi7) after 8 attempts"
    );
    // Reads go on beside the lock.
    assert_eq!(server.get("/api/store/salesorder").status, 200);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(env.snapshot(), before);
    // Once the lock is gone, the same request goes through.
    let confirmed = server.post("/api/store/reservation/confirmed", &confirm);
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
}
