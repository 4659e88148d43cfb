//! The process view's drawings, as SVG that pi7 writes itself: pure
//! functions from events (or timeline steps) to markup, no scripts, every
//! text escaped.

use std::fmt::Write as _;

use super::html::escape;
use crate::app::TimelineStep;
use crate::domain::{Envelope, Source};

const LANES: [Source; 3] = [Source::Web, Source::Reservation, Source::SalesOrder];
const LABEL: i64 = 110;
const COLUMN: i64 = 170;
const BOX_W: i64 = 150;
const BOX_H: i64 = 44;
const LANE_H: i64 = 80;

fn lane_name(source: Source) -> &'static str {
    match source {
        Source::Web => "web",
        Source::Reservation => "reservation",
        Source::SalesOrder => "sales order",
    }
}

/// Where an event's box is: its column is its place in the log, its lane
/// the component that published it.
fn place(index: usize, source: Source) -> (i64, i64) {
    let lane = LANES.iter().position(|s| *s == source).unwrap_or(0) as i64;
    (LABEL + index as i64 * COLUMN, 20 + lane * LANE_H)
}

/// The events of one process in lanes by the component that published
/// them, with an arrow from each event to every event its handling
/// published (the way ServicePulse draws a conversation).
pub fn flow(events: &[Envelope]) -> String {
    let width = LABEL + events.len().max(1) as i64 * COLUMN + 10;
    let height = 20 + LANES.len() as i64 * LANE_H;
    let mut svg = format!(
        "<svg class=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"flow of the process's events\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>"
    );
    for (lane, source) in LANES.iter().enumerate() {
        let y = 20 + lane as i64 * LANE_H;
        let _ = write!(
            svg,
            "<g class=\"lane\"><rect x=\"0\" y=\"{}\" width=\"{width}\" height=\"{LANE_H}\" fill=\"{}\"/><text x=\"8\" y=\"{}\" class=\"lane-label\">{}</text></g>",
            y - 10,
            if lane % 2 == 0 { "#f6f8fa" } else { "#ffffff" },
            y + BOX_H / 2 + 4,
            escape(lane_name(*source)),
        );
    }
    for (index, event) in events.iter().enumerate() {
        let Some(cause) = event.causation_id else {
            continue;
        };
        let Some(from) = events.iter().position(|e| e.id == cause) else {
            continue;
        };
        let (x1, y1) = place(from, events[from].source);
        let (x2, y2) = place(index, event.source);
        let (sx, sy) = (x1 + BOX_W, y1 + BOX_H / 2);
        let (ex, ey) = (x2, y2 + BOX_H / 2);
        let bend = ((ex - sx) / 2).max(20);
        let _ = write!(
            svg,
            "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" d=\"M{sx},{sy} C{},{sy} {},{ey} {ex},{ey}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>",
            events[from].seq,
            event.seq,
            sx + bend,
            ex - bend,
        );
    }
    for (index, event) in events.iter().enumerate() {
        let (x, y) = place(index, event.source);
        let _ = write!(
            svg,
            "<g class=\"event\" data-seq=\"{seq}\"><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"#fff\" stroke=\"#0b5394\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"topic\">{}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"seq\">#{seq} · {}</text></g>",
            x + BOX_W / 2,
            y + 18,
            escape(event.topic.as_str()),
            x + BOX_W / 2,
            y + 35,
            crate::render::time(event.time),
            seq = event.seq,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The saga's deliveries in handling order, each with the order's status
/// after it.
pub fn timeline(steps: &[TimelineStep]) -> String {
    let step_w = 170;
    let width = 40 + steps.len().max(1) as i64 * step_w;
    let height = 110;
    let mut svg = format!(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"the saga's timeline\">"
    );
    if steps.len() > 1 {
        let _ = write!(
            svg,
            "<line x1=\"{}\" y1=\"55\" x2=\"{}\" y2=\"55\" stroke=\"#999\" stroke-width=\"2\"/>",
            20 + step_w / 2,
            20 + (steps.len() as i64 - 1) * step_w + step_w / 2,
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let x = 20 + i as i64 * step_w + step_w / 2;
        let status = step.status.unwrap_or(step.delivery);
        let colour = match status {
            "confirmed" => "#2e7d32",
            "cancelled" | "failed" => "#c62828",
            "pending" => "#f9a825",
            _ => "#757575",
        };
        let _ = write!(
            svg,
            "<g class=\"step\" data-seq=\"{seq}\"><text x=\"{x}\" y=\"22\" text-anchor=\"middle\" class=\"topic\">#{seq} {topic}</text>\
             <circle cx=\"{x}\" cy=\"55\" r=\"10\" fill=\"{colour}\"/>\
             <text x=\"{x}\" y=\"88\" text-anchor=\"middle\" class=\"status\">{status}</text>\
             <text x=\"{x}\" y=\"104\" text-anchor=\"middle\" class=\"lines\">{confirmed} of {lines} confirmed</text></g>",
            seq = step.seq,
            topic = escape(step.topic),
            status = escape(status),
            confirmed = step.confirmed,
            lines = step.lines,
        );
    }
    svg.push_str("</svg>");
    svg
}
