//! Human output: tables and detail views, as pure functions from documents
//! to strings. Machine output is serde's; nothing here is used for `--json`.

use tabled::settings::{Padding, Style};
use tabled::{Table, Tabled};
use time::OffsetDateTime;

use crate::domain::{Envelope, OrderLine, ReservationDoc, ReservationStatus, SalesOrderDoc};
use crate::store::Delivery;

/// Ids in tables: enough to be a unique prefix in practice, and what
/// `confirm` and `show` accept.
pub fn short(id: &uuid::Uuid) -> String {
    id.to_string()[..8].to_string()
}

/// Text a user typed, safe to print: control characters (which could move
/// the cursor, clear the screen or break a row) are shown escaped.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// [`clean`], and cut to `max` characters with an ellipsis, so that a
/// table keeps to 80 columns whatever a customer is called.
pub fn clip(text: &str, max: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
pub fn log_line(unix: i64, pid: u32, message: &str) -> String {
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

fn confirmed_count(lines: &[OrderLine]) -> usize {
    lines
        .iter()
        .filter(|l| l.status == ReservationStatus::Confirmed)
        .count()
}

/// One line about an order: `sales order  8b53dc64  christophe  pending (1 of 2 lines confirmed)`.
pub fn order_summary(order: &SalesOrderDoc) -> String {
    let lines = &order.object.reservations;
    let mut text = format!(
        "sales order  {}  {}  {} ({} of {} lines confirmed)",
        short(&order.id),
        clip(order.object.customer.as_deref().unwrap_or("?"), 24),
        order.object.status,
        confirmed_count(lines),
        lines.len()
    );
    if let Some(reason) = &order.object.reason {
        text += &format!(": {reason}");
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

pub fn orders_table(orders: &[SalesOrderDoc]) -> String {
    table(orders.iter().map(|o| OrderRow {
        id: short(&o.id),
        process: short(&o.process_id),
        customer: clip(o.object.customer.as_deref().unwrap_or("?"), 24),
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
    #[tabled(rename = "SINCE")]
    since: String,
}

pub fn reservations_table(reservations: &[ReservationDoc]) -> String {
    table(reservations.iter().map(|r| {
        ReservationRow {
            id: short(&r.id),
            process: short(&r.process_id),
            line: r.object.id,
            reserved: clip(&r.object.reserved, 16),
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
    #[tabled(rename = "TIME")]
    time: String,
    #[tabled(rename = "RESERVATION")]
    reservation: String,
    #[tabled(rename = "RESERVED")]
    reserved: String,
    #[tabled(rename = "STATUS")]
    status: String,
}

fn history_table(reservations: &[ReservationDoc]) -> String {
    let mut rows: Vec<(i64, usize, HistoryRow)> = Vec::new();
    for (index, r) in reservations.iter().enumerate() {
        for h in &r.object.history {
            rows.push((
                h.time,
                index,
                HistoryRow {
                    time: time(h.time),
                    reservation: short(&r.id),
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
) -> String {
    let o = &order.object;
    let mut text = String::new();
    text += &format!("sales order  {}\n", order.id);
    text += &format!("process      {}\n", order.process_id);
    text += &format!(
        "customer     {}\n",
        o.customer
            .as_deref()
            .map_or("(not known yet: the request has not arrived)".into(), clean)
    );
    text += &format!(
        "status       {} ({} of {} lines confirmed)\n",
        o.status,
        confirmed_count(&o.reservations),
        o.reservations.len()
    );
    if let Some(reason) = &o.reason {
        text += &format!("reason       {reason}\n");
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
        text += &history_table(reservations);
    }
    text += &events_section(events);
    text
}

/// `pi7 show` of a reservation.
pub fn reservation_detail(
    reservation: &ReservationDoc,
    order: Option<&SalesOrderDoc>,
    events: &[Envelope],
) -> String {
    let r = &reservation.object;
    let mut text = String::new();
    text += &format!("reservation  {}\n", reservation.id);
    text += &format!("process      {}\n", reservation.process_id);
    if let Some(order) = order {
        text += &format!("sales order  {} ({})\n", order.id, order.object.status);
    }
    text += &format!("line         {}: {}\n", r.id, clean(&r.reserved));
    text += &format!("status       {}\n", r.status);
    if let Some(reason) = &r.reason {
        text += &format!("reason       {reason}\n");
    }
    text += "\nhistory:\n";
    text += &history_table(std::slice::from_ref(reservation));
    text += &events_section(events);
    text
}

fn events_section(events: &[Envelope]) -> String {
    if events.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nevents:\n");
    text += &events_header();
    for event in events {
        text += &event_line(event);
    }
    text
}

/// The header of `pi7 events`; rows are [`event_line`]s, fixed width so
/// `--follow` can print each as it lands.
pub fn events_header() -> String {
    format!(
        "{:<5} {:<8}  {:<19}  {:<8}  {:<8}  {}\n",
        "SEQ", "ID", "TOPIC", "PROCESS", "CAUSE", "TIME"
    )
}

pub fn event_line(event: &Envelope) -> String {
    format!(
        "{:<5} {:<8}  {:<19}  {:<8}  {:<8}  {}\n",
        event.seq,
        short(&event.id),
        event.topic.as_str(),
        short(&event.process_id),
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

pub fn deliveries_table(deliveries: &[Delivery]) -> String {
    table(deliveries.iter().map(|d| DeliveryRow {
        seq: d.seq,
        topic: d.topic.to_string(),
        component: d.component.to_string(),
        process: short(&d.process_id),
        attempts: d.attempts,
        error: d.error.clone().unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_in_utc_like_the_original_log() {
        assert_eq!(time(1543269956), "2018-11-26 22:05:56");
        assert_eq!(
            log_line(1543269956, 21308, "web: received sales order request"),
            "[2018-11-26 22:05:56 +0000] [21308] [INFO] web: received sales order request"
        );
    }
}
