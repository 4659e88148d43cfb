//! The pages as HTML, rendered on the server: pure functions from documents
//! and events to text. Every string a user or the database supplies goes
//! through [`escape`] (the original built its backend page by concatenating
//! customer names into HTML; a name like `<img src=x onerror=…>` ran).

use std::fmt::Write as _;

use super::svg;
use crate::app::ProcessView;
use crate::domain::{Envelope, ReservationDoc, SalesOrderDoc};
use crate::render;

/// Text made safe to put in HTML content or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: the navigation, then `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · pi7</title>
<style>{css}</style>
</head>
<body>
<nav><strong>pi7</strong>
<a href="/">frontend</a> <a href="/backend.html">backend</a> <a href="/log.html">log</a> <a href="/all.html">all</a>
<span id="live" title="updates arrive as they happen">live</span></nav>
<main>
{body}
</main>
<script>{js}</script>
</body>
</html>
"#,
        title = escape(title),
        css = include_str!("assets/pi7.css"),
        js = include_str!("assets/pi7.js"),
    )
}

/// A part of a page that keeps itself up to date from `url`; `since` is a
/// seq that `inner` shows everything up to, so that the page's stream
/// starts there and misses nothing written while the page was on its way.
pub fn live(url: &str, since: u64, inner: &str) -> String {
    format!(
        "<div data-live=\"{}\" data-since=\"{since}\">{inner}</div>",
        escape(url)
    )
}

/// The frontend: compose an order (or paste one) and submit it.
pub fn frontend() -> String {
    r#"<section id="frontend">
<h1>Request a sales order</h1>
<form id="order-form" autocomplete="off">
<label>customer <input id="customer" name="customer" value="christophe"></label>
<table id="lines"><thead><tr><th>id</th><th>reserved</th><th></th></tr></thead>
<tbody>
<tr><td><input class="line-id" type="number" value="1"></td><td><input class="line-reserved" value="some hotel"></td><td><button type="button" class="remove-line">remove</button></td></tr>
<tr><td><input class="line-id" type="number" value="2"></td><td><input class="line-reserved" value="a plane"></td><td><button type="button" class="remove-line">remove</button></td></tr>
</tbody></table>
<p><button type="button" id="add-line">add a line</button></p>
<details><summary>or paste the order as JSON</summary>
<textarea id="order-json" rows="8" cols="60" placeholder='{"customer": "koen", "reservations": [{"id": 1, "reserved": "a bike"}]}'></textarea>
</details>
<p><button type="submit" id="submit">Submit</button></p>
<p id="error" class="error" role="alert"></p>
</form>
<noscript><p>Submitting needs JavaScript; <code>pi7 submit</code> does the same from a terminal.</p></noscript>
</section>"#
        .to_string()
}

/// The backend: unconfirmed reservations with their buttons, and the sales
/// orders with their lines.
pub fn backend(reservations: &[ReservationDoc], orders: &[SalesOrderDoc]) -> String {
    let mut html = String::from("<section id=\"reservations\"><h2>Unconfirmed reservations</h2>");
    if reservations.is_empty() {
        html.push_str("<p class=\"empty\">none</p>");
    } else {
        html.push_str("<table><thead><tr><th>reservation</th><th>process</th><th>line</th><th>reserved</th><th>since</th><th></th></tr></thead><tbody>");
        for r in reservations {
            let since = r.object.history.first().map_or(0, |h| h.time);
            let _ = write!(
                html,
                "<tr data-reservation=\"{id}\"><td><code>{short}</code></td><td><a href=\"/process/{process}\"><code>{pshort}</code></a></td><td>{line}</td><td class=\"reserved\">{reserved}</td><td>{since}</td>\
                 <td><button class=\"confirm\" data-confirm=\"{id}\">Confirm</button> <button class=\"reject\" data-reject=\"{id}\">Reject</button></td></tr>",
                id = r.id,
                short = render::short(&r.id),
                process = r.process_id,
                pshort = render::short(&r.process_id),
                line = r.object.id,
                reserved = escape(&r.object.reserved),
                since = render::time(since),
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section><section id=\"salesorders\"><h2>salesorder</h2>");
    if orders.is_empty() {
        html.push_str("<p class=\"empty\">none</p>");
    }
    for order in orders.iter().rev() {
        html.push_str(&order_card(order));
    }
    html.push_str("</section>");
    html
}

/// One sales order with its lines.
pub fn order_card(order: &SalesOrderDoc) -> String {
    let o = &order.object;
    let confirmed = o
        .reservations
        .iter()
        .filter(|l| l.status == crate::domain::ReservationStatus::Confirmed)
        .count();
    let mut html = format!(
        "<article class=\"order\" data-order=\"{id}\" data-process=\"{process}\">\
         <h3><span class=\"customer\">{customer}</span> <span class=\"status status-{status}\">{status}</span> \
         <small>{confirmed} of {lines} lines confirmed · <a href=\"/process/{process}\">process {pshort}</a></small></h3>",
        id = order.id,
        process = order.process_id,
        pshort = render::short(&order.process_id),
        customer = escape(o.customer.as_deref().unwrap_or("(request not arrived yet)")),
        status = o.status.as_str(),
        lines = o.reservations.len(),
    );
    if let Some(reason) = &o.reason {
        let _ = write!(html, "<p class=\"reason\">{}</p>", escape(reason));
    }
    html.push_str("<table><thead><tr><th>line</th><th>reserved</th><th>status</th><th>reservation</th></tr></thead><tbody>");
    for line in &o.reservations {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"status-{s}\">{s}</td><td><code>{}</code></td></tr>",
            line.id,
            escape(&line.reserved),
            line.reservation_id,
            s = line.status.as_str(),
        );
    }
    html.push_str("</tbody></table></article>");
    html
}

/// The integration log, newest first.
pub fn log(events: &[Envelope]) -> String {
    let mut html = String::from("<section id=\"log\"><h2>Integration log</h2>");
    if events.is_empty() {
        html.push_str("<p class=\"empty\">no events yet</p>");
    } else {
        html.push_str("<table class=\"log\"><thead><tr><th>seq</th><th>topic</th><th>process</th><th>cause</th><th>time</th><th>payload</th></tr></thead><tbody>");
        for e in events.iter().rev() {
            html.push_str(&event_row(e));
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section>");
    html
}

fn event_row(e: &Envelope) -> String {
    let payload = serde_json::to_string_pretty(&e.payload).unwrap_or_default();
    format!(
        "<tr class=\"event\" data-seq=\"{seq}\"><td>{seq}</td><td>{topic}</td><td><a href=\"/process/{process}\"><code>{pshort}</code></a></td>\
         <td><code>{cause}</code></td><td>{time}</td><td><pre>{payload}</pre></td></tr>",
        seq = e.seq,
        topic = e.topic.as_str(),
        process = e.process_id,
        pshort = render::short(&e.process_id),
        cause = e.causation_id.map_or("—".to_string(), |c| render::short(&c)),
        time = render::time(e.time),
        payload = escape(&payload),
    )
}

/// A process: its documents, the flow of its events, its saga's timeline.
pub fn process(view: &ProcessView) -> String {
    let p = &view.process;
    let mut html = format!(
        "<section id=\"process\"><h1>Process <code>{}</code></h1>",
        p.process_id
    );
    let _ = write!(
        html,
        "<h2>Flow</h2><p>Each event in the lane of the component that published it; an arrow from an event to each event its handling published.</p><figure id=\"flow\">{}</figure>",
        svg::flow(&p.events)
    );
    let _ = write!(
        html,
        "<h2>Saga timeline</h2><p>Each delivery to the sales-order saga, in the order it was handled, with the order's status after it.</p><figure id=\"timeline\">{}</figure>",
        svg::timeline(&view.timeline)
    );
    match &p.salesorder {
        Some(order) => html.push_str(&order_card(order)),
        None => html.push_str("<p class=\"empty\">no sales order yet: no event of this process has reached the saga</p>"),
    }
    html.push_str("<h2>Reservations</h2><table><thead><tr><th>reservation</th><th>line</th><th>reserved</th><th>status</th><th>history</th></tr></thead><tbody>");
    for r in &p.reservations {
        let history: Vec<String> = r
            .object
            .history
            .iter()
            .map(|h| format!("{} {}", render::time(h.time), h.status.as_str()))
            .collect();
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"status-{s}\">{s}</td><td>{}</td></tr>",
            r.id,
            r.object.id,
            escape(&r.object.reserved),
            escape(&history.join(" → ")),
            s = r.object.status.as_str(),
        );
    }
    html.push_str("</tbody></table><h2>Deliveries to the saga</h2>");
    html.push_str("<table><thead><tr><th>step</th><th>event</th><th>topic</th><th>delivery</th><th>status after</th><th>lines confirmed</th></tr></thead><tbody>");
    for s in &view.timeline {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} of {}</td></tr>",
            s.step,
            s.seq,
            s.topic,
            s.delivery,
            s.status.unwrap_or("—"),
            s.confirmed,
            s.lines
        );
    }
    html.push_str("</tbody></table><h2>Events</h2><table class=\"log\"><thead><tr><th>seq</th><th>topic</th><th>process</th><th>cause</th><th>time</th><th>payload</th></tr></thead><tbody>");
    for e in &p.events {
        html.push_str(&event_row(e));
    }
    html.push_str("</tbody></table></section>");
    html
}
