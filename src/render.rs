//! Human output: tables and detail views, as pure functions from documents
//! to strings. Machine output is serde's; nothing here is used for `--json`.

use std::collections::HashMap;
use tabled::settings::{Padding, Style};
use tabled::{Table, Tabled};
use time::OffsetDateTime;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::domain::{Envelope, OrderLine, ReservationDoc, ReservationStatus, SalesOrderDoc};
use crate::store::Delivery;

/// Event ids in tables: 8 characters. No command takes an event's id, so
/// they need not be unique prefixes; documents' ids go through [`ShortIds`].
pub fn short(id: &uuid::Uuid) -> String {
    id.to_string()[..ShortIds::MIN].to_string()
}

/// Document and process ids in tables: the shortest prefix of at least 8
/// characters that names one thing at the moment, as git and jj shorten
/// hashes, so that whatever a table shows, `confirm` and `show` accept.
/// The lengths are learnt from the store before rendering; an id not learnt
/// gets 8.
#[derive(Debug, Default, Clone)]
pub struct ShortIds {
    lengths: HashMap<uuid::Uuid, usize>,
}

impl ShortIds {
    pub const MIN: usize = 8;

    pub fn knows(&self, id: &uuid::Uuid) -> bool {
        self.lengths.contains_key(id)
    }

    pub fn learn(&mut self, id: uuid::Uuid, length: usize) {
        self.lengths.insert(id, length);
    }

    pub fn short(&self, id: &uuid::Uuid) -> String {
        let text = id.to_string();
        let length = self
            .lengths
            .get(id)
            .copied()
            .unwrap_or(Self::MIN)
            .clamp(Self::MIN, text.len());
        text[..length].to_string()
    }
}

/// `1 event`, `2 events`, `1 delivery`, `2 deliveries`.
pub fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("{n} {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// How many columns `text` takes in a terminal (東京 takes four).
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Text a user typed, safe to print: control characters (which could move
/// the cursor, clear the screen or break a row) are shown escaped.
pub fn clean(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            cleaned.extend(c.escape_default());
        } else {
            cleaned.push(c);
        }
    }
    cleaned
}

/// [`clean`], and cut to `max` terminal columns with an ellipsis, so that a
/// table keeps to 80 columns whatever a customer is called, in whatever
/// script (wide characters such as 東京 or emoji take two columns each).
pub fn clip(text: &str, max: usize) -> String {
    let text = clean(text);
    if width(&text) <= max {
        return text;
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push('…');
    cut
}

/// [`clean`], and folded at spaces into lines of at most `max` columns,
/// the lines after the first indented by `indent` columns: for messages that
/// must be read whole (a reason, a violation) but kept to 80 columns. A word
/// wider than a line is cut where the line ends.
pub fn wrap(text: &str, max: usize, indent: usize) -> String {
    let text = clean(text);
    let pad = " ".repeat(indent);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w = width(word);
        if used > 0 && used + 1 + w <= max {
            line.push(' ');
            line.push_str(word);
            used += 1 + w;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
            line.push_str(&pad);
            used = indent;
        } else if !lines.is_empty() {
            used = indent;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > max && used > indent {
                lines.push(std::mem::take(&mut line));
                line.push_str(&pad);
                used = indent;
            }
            line.push(c);
            used += cw;
        }
    }
    lines.push(line);
    lines.join("\n")
}

/// `2026-11-24 06:40:01`, in UTC.
pub fn time(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => t
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_else(|_| unix.to_string()),
        Err(_) => unix.to_string(),
    }
}

/// A line of the workflow log, in the original's format.
pub fn log_line(unix: i64, pid: u32, message: impl std::fmt::Display) -> String {
    format!("[{} +0000] [{pid}] [INFO] {message}", time(unix))
}

fn table<T: Tabled>(rows: impl IntoIterator<Item = T>) -> String {
    let mut table = Table::new(rows);
    table.with(Style::blank()).with(Padding::new(0, 1, 0, 0));
    let mut text = table.to_string();
    // Trailing spaces from padding the last column are noise in a terminal
    // and in a diff.
    text = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

pub fn confirmed_count(lines: &[OrderLine]) -> usize {
    lines
        .iter()
        .filter(|l| l.status == ReservationStatus::Confirmed)
        .count()
}

/// `1 of 2 lines confirmed`, `1 of 1 line confirmed`.
fn lines_confirmed(lines: &[OrderLine]) -> String {
    let total = lines.len();
    let noun = if total == 1 { "line" } else { "lines" };
    format!("{} of {total} {noun} confirmed", confirmed_count(lines))
}

/// One line about an order: `sales order  8b53dc64  christophe  pending (1 of 2 lines confirmed)`,
/// and the reason on a line of its own when it has one.
pub fn order_summary(order: &SalesOrderDoc, ids: &ShortIds) -> String {
    let lines = &order.object.reservations;
    let mut text = format!(
        "sales order  {}  {}  {} ({})",
        ids.short(&order.id),
        clip(order.object.customer.as_deref().unwrap_or("?"), 24),
        order.object.status,
        lines_confirmed(lines)
    );
    if let Some(reason) = &order.object.reason {
        text += "\n";
        text += &wrap(&format!("reason       {reason}"), 80, 13);
    }
    text
}

#[derive(Tabled)]
struct OrderRow {
    #[tabled(rename = "ORDER")]
    id: String,
    #[tabled(rename = "PROCESS")]
    process: String,
    #[tabled(rename = "CUSTOMER")]
    customer: String,
    #[tabled(rename = "STATUS")]
    status: String,
    #[tabled(rename = "CONFIRMED")]
    confirmed: String,
}

/// Renders a table whose free-text column is clipped to `budget` columns,
/// narrowing that column (down to 4) until the table fits `width`: 80, or a
/// narrower terminal's width.
fn fitted(width: usize, budget: usize, make: impl Fn(usize) -> String) -> String {
    let text = make(budget);
    let widest = text.lines().map(self::width).max().unwrap_or(0);
    if widest <= width {
        return text;
    }
    make(budget.saturating_sub(widest - width).max(4))
}

/// `pi7 list`: orders in `width` columns, customers clipped to fit.
pub fn orders_table(orders: &[SalesOrderDoc], ids: &ShortIds, width: usize) -> String {
    fitted(width, 24, |budget| orders_rows(orders, ids, budget))
}

fn orders_rows(orders: &[SalesOrderDoc], ids: &ShortIds, budget: usize) -> String {
    table(orders.iter().map(|o| OrderRow {
        id: ids.short(&o.id),
        process: ids.short(&o.process_id),
        customer: clip(o.object.customer.as_deref().unwrap_or("?"), budget),
        status: o.object.status.to_string(),
        confirmed: format!(
            "{}/{}",
            confirmed_count(&o.object.reservations),
            o.object.reservations.len()
        ),
    }))
}

#[derive(Tabled)]
struct ReservationRow {
    #[tabled(rename = "RESERVATION")]
    id: String,
    #[tabled(rename = "PROCESS")]
    process: String,
    #[tabled(rename = "LINE")]
    line: i64,
    #[tabled(rename = "RESERVED")]
    reserved: String,
    #[tabled(rename = "STATUS")]
    status: String,
    #[tabled(rename = "SINCE (UTC)")]
    since: String,
}

/// `pi7 list reservations`: in `width` columns, what is reserved clipped
/// to fit.
pub fn reservations_table(reservations: &[ReservationDoc], ids: &ShortIds, width: usize) -> String {
    fitted(width, 16, |budget| {
        reservations_rows(reservations, ids, budget)
    })
}

fn reservations_rows(reservations: &[ReservationDoc], ids: &ShortIds, budget: usize) -> String {
    table(reservations.iter().map(|r| {
        ReservationRow {
            id: ids.short(&r.id),
            process: ids.short(&r.process_id),
            line: r.object.id,
            reserved: clip(&r.object.reserved, budget),
            status: r.object.status.to_string(),
            since: r
                .object
                .history
                .last()
                .map(|h| time(h.time))
                .unwrap_or_default(),
        }
    }))
}

#[derive(Tabled)]
struct LineRow {
    #[tabled(rename = "LINE")]
    line: i64,
    #[tabled(rename = "RESERVED")]
    reserved: String,
    #[tabled(rename = "STATUS")]
    status: String,
    #[tabled(rename = "RESERVATION")]
    reservation: String,
}

fn lines_table(lines: &[OrderLine]) -> String {
    table(lines.iter().map(|l| LineRow {
        line: l.id,
        reserved: clip(&l.reserved, 16),
        status: l.status.to_string(),
        reservation: l.reservation_id.to_string(),
    }))
}

#[derive(Tabled)]
struct HistoryRow {
    #[tabled(rename = "TIME (UTC)")]
    time: String,
    #[tabled(rename = "RESERVATION")]
    reservation: String,
    #[tabled(rename = "RESERVED")]
    reserved: String,
    #[tabled(rename = "STATUS")]
    status: String,
}

fn history_table(reservations: &[ReservationDoc], ids: &ShortIds) -> String {
    let mut rows: Vec<(i64, usize, HistoryRow)> = Vec::new();
    for (index, r) in reservations.iter().enumerate() {
        for h in &r.object.history {
            rows.push((
                h.time,
                index,
                HistoryRow {
                    time: time(h.time),
                    reservation: ids.short(&r.id),
                    reserved: clip(&r.object.reserved, 16),
                    status: h.status.to_string(),
                },
            ));
        }
    }
    rows.sort_by_key(|(t, i, _)| (*t, *i));
    table(rows.into_iter().map(|(_, _, row)| row))
}

/// `pi7 show` of a sales order: the order, its lines, the history of its
/// reservations and the events of its process.
pub fn order_detail(
    order: &SalesOrderDoc,
    reservations: &[ReservationDoc],
    events: &[Envelope],
    ids: &ShortIds,
) -> String {
    let o = &order.object;
    let mut text = String::new();
    text += &format!("sales order  {}\n", order.id);
    text += &format!("process      {}\n", order.process_id);
    text += &format!(
        "customer     {}\n",
        o.customer
            .as_deref()
            .map_or("(not known yet: the request has not arrived)".into(), |c| {
                clip(c, 67)
            })
    );
    text += &format!(
        "status       {} ({})\n",
        o.status,
        lines_confirmed(&o.reservations)
    );
    if let Some(reason) = &o.reason {
        text += &wrap(&format!("reason       {reason}"), 80, 13);
        text += "\n";
    }
    if !o.reservations.is_empty() {
        text += "\n";
        text += &lines_table(&o.reservations);
    }
    if !o.unmatched_confirmations.is_empty() {
        text += "\nreservations that are not lines of this order:\n";
        text += &lines_table(&o.unmatched_confirmations);
    }
    if !reservations.is_empty() {
        text += "\nhistory:\n";
        text += &history_table(reservations, ids);
    }
    text += &events_section(events, ids);
    text
}

/// `pi7 show` of a reservation.
pub fn reservation_detail(
    reservation: &ReservationDoc,
    order: Option<&SalesOrderDoc>,
    events: &[Envelope],
    ids: &ShortIds,
) -> String {
    let r = &reservation.object;
    let mut text = String::new();
    text += &format!("reservation  {}\n", reservation.id);
    text += &format!("process      {}\n", reservation.process_id);
    if let Some(order) = order {
        text += &format!("sales order  {} ({})\n", order.id, order.object.status);
    }
    text += &format!(
        "line         {}\n",
        clip(&format!("{}: {}", r.id, r.reserved), 67)
    );
    text += &format!("status       {}\n", r.status);
    if let Some(reason) = &r.reason {
        text += &wrap(&format!("reason       {reason}"), 80, 13);
        text += "\n";
    }
    text += "\nhistory:\n";
    text += &history_table(std::slice::from_ref(reservation), ids);
    text += &events_section(events, ids);
    text
}

fn events_section(events: &[Envelope], ids: &ShortIds) -> String {
    if events.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nevents:\n");
    text += &events_header();
    for event in events {
        text += &event_line(event, ids);
    }
    text
}

/// The header of `pi7 events`; rows are [`event_line`]s, fixed width so
/// `--follow` can print each as it lands.
pub fn events_header() -> String {
    format!(
        "{:<5} {:<8}  {:<19}  {:<8}  {:<8}  {}\n",
        "SEQ", "ID", "TOPIC", "PROCESS", "CAUSE", "TIME (UTC)"
    )
}

pub fn event_line(event: &Envelope, ids: &ShortIds) -> String {
    format!(
        "{:<5} {:<8}  {:<19}  {:<8}  {:<8}  {}\n",
        event.seq,
        short(&event.id),
        event.topic.as_str(),
        ids.short(&event.process_id),
        event.causation_id.as_ref().map_or("-".into(), short),
        time(event.time)
    )
}

#[derive(Tabled)]
struct DeliveryRow {
    #[tabled(rename = "SEQ")]
    seq: u64,
    #[tabled(rename = "TOPIC")]
    topic: String,
    #[tabled(rename = "COMPONENT")]
    component: String,
    #[tabled(rename = "PROCESS")]
    process: String,
    #[tabled(rename = "ATTEMPTS")]
    attempts: u32,
    #[tabled(rename = "ERROR")]
    error: String,
}

pub fn deliveries_table(deliveries: &[Delivery], ids: &ShortIds) -> String {
    table(deliveries.iter().map(|d| DeliveryRow {
        seq: d.seq,
        topic: d.topic.to_string(),
        component: d.component.to_string(),
        process: ids.short(&d.process_id),
        attempts: d.attempts,
        error: clip(d.error.as_deref().unwrap_or_default(), 18),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_and_wraps_by_display_width() {
        assert_eq!(clip("東京タワー", 6), "東京…");
        assert_eq!(width(&clip("東京タワー", 6)), 5);
        assert_eq!(clip("a\nb", 10), "a\\nb");
        assert_eq!(wrap("aa bb cc", 5, 2), "aa bb\n  cc");
        assert_eq!(wrap("東京 東京 東京", 9, 0), "東京 東京\n東京");
        assert_eq!(wrap("abcdefgh", 4, 1), "abcd\n efg\n h");
        let long = "x".repeat(1000);
        for line in wrap(&format!("reason: {long} end"), 80, 13).lines() {
            assert!(width(line) <= 80, "{line}");
        }
        assert_eq!(count(1, "delivery"), "1 delivery");
        assert_eq!(count(2, "delivery"), "2 deliveries");
        assert_eq!(count(0, "sales order"), "0 sales orders");
    }

    #[test]
    fn formats_times_in_utc_like_the_original_log() {
        assert_eq!(time(1543269956), "2018-11-26 22:05:56");
        assert_eq!(
            log_line(1543269956, 21308, "web: received sales order request"),
            "[2018-11-26 22:05:56 +0000] [21308] [INFO] web: received sales order request"
        );
    }
}
