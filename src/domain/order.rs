//! The input order format (the original's, unchanged) and its validation.
//!
//! Parsing reports every problem with the line and column where it is, in
//! the whole input, even for orders inside an array or a JSON Lines stream,
//! because a user fixing order 312 of a batch needs to know where it is.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::fmt;

/// An order as a customer submits it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderRequest {
    pub customer: String,
    pub reservations: Vec<RequestedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestedLine {
    pub id: i64,
    pub reserved: String,
}

/// Where in the input a problem is: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why an input is not a valid order, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct OrderError {
    pub location: Location,
    pub message: String,
}

/// Reads one order (a JSON object), many (a JSON array of them) or JSON
/// Lines (one object after another).
pub fn parse_orders(text: &str) -> Result<Vec<OrderRequest>, OrderError> {
    let input = Input { text };
    let raws = input.top_level_values()?;
    if raws.is_empty() {
        return Err(input.error_at(text.len(), "no order in the input".into()));
    }
    raws.into_iter().map(|raw| input.order(raw)).collect()
}

struct Input<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrder<'a> {
    #[serde(borrow)]
    customer: Option<&'a RawValue>,
    #[serde(borrow)]
    reservations: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    reserved: Option<&'a RawValue>,
}

/// An order exactly as [`Input::order_explained`] accepts it, read in one
/// pass: no field missing, unknown or of another type.
#[derive(Deserialize)]
struct StrictOrder(#[serde(with = "StrictOrderFields")] OrderRequest);

#[derive(Deserialize)]
#[serde(remote = "OrderRequest", deny_unknown_fields)]
struct StrictOrderFields {
    customer: String,
    #[serde(deserialize_with = "strict_lines")]
    reservations: Vec<RequestedLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictLine {
    id: i64,
    reserved: String,
}

fn strict_lines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RequestedLine>, D::Error> {
    let lines = Vec::<StrictLine>::deserialize(d)?;
    Ok(lines
        .into_iter()
        .map(|l| RequestedLine {
            id: l.id,
            reserved: l.reserved,
        })
        .collect())
}

/// What [`Input::order_explained`] checks beyond the shape of the JSON. A
/// rule added there goes here too: the test that generates orders of every
/// kind holds the two ways to the same verdicts.
fn is_valid(order: &OrderRequest) -> bool {
    let mut seen = HashSet::with_capacity(order.reservations.len());
    !order.customer.trim().is_empty()
        && !order.reservations.is_empty()
        && order
            .reservations
            .iter()
            .all(|line| !line.reserved.trim().is_empty() && seen.insert(line.id))
}

impl<'a> Input<'a> {
    fn top_level_values(&self) -> Result<Vec<&'a RawValue>, OrderError> {
        if self.text.trim_start().starts_with('[') {
            return serde_json::from_str::<Vec<&RawValue>>(self.text)
                .map_err(|e| self.serde_error(0, self.text, &e));
        }
        serde_json::Deserializer::from_str(self.text)
            .into_iter::<&RawValue>()
            .map(|r| r.map_err(|e| self.serde_error(0, self.text, &e)))
            .collect()
    }

    fn order(&self, raw: &'a RawValue) -> Result<OrderRequest, OrderError> {
        // Most orders are valid: one pass reads them. Anything that pass
        // cannot take is read again the long way, which says what is wrong
        // and where; it accepts all the short way does, and reads it alike.
        match serde_json::from_str::<StrictOrder>(raw.get()) {
            Ok(StrictOrder(order)) if is_valid(&order) => Ok(order),
            _ => self.order_explained(raw),
        }
    }

    /// Reads an order piece by piece, to say what is wrong and where; what
    /// it checks, [`is_valid`] checks too.
    fn order_explained(&self, raw: &'a RawValue) -> Result<OrderRequest, OrderError> {
        let order: RawOrder = self.nested(raw, "an order must be a JSON object")?;
        let customer = match order.customer {
            None => return Err(self.error_at_value(raw, "the order has no \"customer\"")),
            Some(value) => {
                let customer: String = self.nested(value, "\"customer\" must be a string")?;
                if customer.trim().is_empty() {
                    return Err(self.error_at_value(value, "\"customer\" is empty"));
                }
                customer
            }
        };
        let lines = match order.reservations {
            None => return Err(self.error_at_value(raw, "the order has no \"reservations\"")),
            Some(value) => {
                let lines: Vec<&RawValue> =
                    self.nested(value, "\"reservations\" must be an array of lines")?;
                if lines.is_empty() {
                    return Err(self.error_at_value(value, "\"reservations\" is empty"));
                }
                lines
            }
        };
        let mut seen = HashSet::new();
        let mut reservations = Vec::with_capacity(lines.len());
        for raw_line in lines {
            let line = self.line(raw_line)?;
            if !seen.insert(line.id) {
                let at = self.nested::<RawLine>(raw_line, "")?.id.unwrap_or(raw_line);
                return Err(self.error_at_value(
                    at,
                    &format!("line id {} is used twice in this order", line.id),
                ));
            }
            reservations.push(line);
        }
        Ok(OrderRequest {
            customer,
            reservations,
        })
    }

    fn line(&self, raw: &'a RawValue) -> Result<RequestedLine, OrderError> {
        let line: RawLine = self.nested(raw, "a reservation line must be a JSON object")?;
        let id = match line.id {
            None => return Err(self.error_at_value(raw, "the line has no \"id\"")),
            Some(value) => self.nested::<i64>(
                value,
                &format!("line \"id\" must be an integer, not {}", value.get()),
            )?,
        };
        let reserved = match line.reserved {
            None => return Err(self.error_at_value(raw, "the line has no \"reserved\"")),
            Some(value) => {
                let reserved: String = self.nested(value, "\"reserved\" must be a string")?;
                if reserved.trim().is_empty() {
                    return Err(self.error_at_value(value, "\"reserved\" is empty"));
                }
                reserved
            }
        };
        Ok(RequestedLine { id, reserved })
    }

    /// Deserializes a value found inside the input. A type mismatch gets
    /// `wrong_type` as its message; other errors (unknown fields) keep
    /// serde's words; both point into the whole input.
    fn nested<T: Deserialize<'a>>(
        &self,
        raw: &'a RawValue,
        wrong_type: &str,
    ) -> Result<T, OrderError> {
        let slice: &'a str = raw.get();
        serde_json::from_str::<T>(slice).map_err(|e| {
            if e.classify() == serde_json::error::Category::Data && is_type_mismatch(&e) {
                self.error_at_value(raw, wrong_type)
            } else {
                self.serde_error(self.offset_of(slice), slice, &e)
            }
        })
    }

    fn offset_of(&self, slice: &str) -> usize {
        slice.as_ptr() as usize - self.text.as_ptr() as usize
    }

    fn error_at_value(&self, raw: &RawValue, message: &str) -> OrderError {
        self.error_at(self.offset_of(raw.get()), message.to_string())
    }

    fn error_at(&self, offset: usize, message: String) -> OrderError {
        OrderError {
            location: location_of(self.text, offset),
            message,
        }
    }

    /// Turns a serde_json error, whose position is relative to `slice`
    /// (found at `base` in the input), into one that points into the input.
    fn serde_error(&self, base: usize, slice: &str, e: &serde_json::Error) -> OrderError {
        let relative = offset_of_position(slice, e.line(), e.column());
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string();
        self.error_at(base + relative, message)
    }
}

fn is_type_mismatch(e: &serde_json::Error) -> bool {
    let text = e.to_string();
    text.starts_with("invalid type") || text.starts_with("invalid value")
}

/// The byte offset of serde_json's (1-based line, byte column) in `text`.
fn offset_of_position(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, content) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += content.len();
    }
    text.len()
}

fn location_of(text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    Location { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_orders(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_one_object_an_array_and_json_lines() {
        let one = r#"{"customer":"c","reservations":[{"id":1,"reserved":"x"}]}"#;
        assert_eq!(parse_orders(one).unwrap().len(), 1);
        assert_eq!(parse_orders(&format!("[{one},{one}]")).unwrap().len(), 2);
        assert_eq!(
            parse_orders(&format!("{one}\n{one}\n{one}\n"))
                .unwrap()
                .len(),
            3
        );
        let order = &parse_orders(one).unwrap()[0];
        assert_eq!(order.customer, "c");
        assert_eq!(
            order.reservations,
            vec![RequestedLine {
                id: 1,
                reserved: "x".into()
            }]
        );
    }

    #[test]
    fn points_at_the_problem_in_the_whole_input() {
        let good = r#"{"customer":"c","reservations":[{"id":1,"reserved":"x"}]}"#;
        let text = format!("{good}\n{{\"customer\":\"c\",\n \"reservations\":[{{\"id\":1,\"reserved\":\"x\"}},{{\"id\":1,\"reserved\":\"y\"}}]}}\n");
        assert_eq!(err(&text), "3:48: line id 1 is used twice in this order");
    }

    #[test]
    fn names_each_kind_of_bad_order() {
        assert_eq!(err(""), "1:1: no order in the input");
        assert_eq!(err("[]"), "1:3: no order in the input");
        assert_eq!(err("{"), "1:1: EOF while parsing an object");
        assert_eq!(
            err(r#"{"reservations":[{"id":1,"reserved":"x"}]}"#),
            "1:1: the order has no \"customer\""
        );
        assert_eq!(
            err(r#"{"customer":" ","reservations":[{"id":1,"reserved":"x"}]}"#),
            "1:13: \"customer\" is empty"
        );
        assert_eq!(
            err(r#"{"customer":"c"}"#),
            "1:1: the order has no \"reservations\""
        );
        assert_eq!(
            err(r#"{"customer":"c","reservations":[]}"#),
            "1:32: \"reservations\" is empty"
        );
        assert_eq!(
            err(r#"{"customer":"c","reservations":[{"reserved":"x"}]}"#),
            "1:33: the line has no \"id\""
        );
        assert_eq!(
            err(r#"{"customer":"c","reservations":[{"id":1}]}"#),
            "1:33: the line has no \"reserved\""
        );
        assert_eq!(
            err(r#"{"customer":"c","reservations":[{"id":1.5,"reserved":"x"}]}"#),
            "1:39: line \"id\" must be an integer, not 1.5"
        );
        assert_eq!(
            err(r#"{"customer":"c","reservations":[{"id":"1","reserved":"x"}]}"#),
            "1:39: line \"id\" must be an integer, not \"1\""
        );
        assert!(err(r#"{"custmer":"c","reservations":[]}"#)
            .starts_with("1:10: unknown field `custmer`, expected `customer` or `reservations`"));
        assert!(
            err(r#"{"customer":"c","reservations":[{"id":1,"reserved":"x","qty":2}]}"#)
                .starts_with("1:60: unknown field `qty`")
        );
        assert_eq!(err("3"), "1:1: an order must be a JSON object");
    }

    /// The one-pass reading of an order takes only what the explaining
    /// one accepts, and reads it alike; everything else goes the long way.
    #[test]
    fn the_short_way_reads_only_what_the_long_way_accepts_and_alike() {
        let line = |id: &str, reserved: &str| format!(r#"{{"id":{id},"reserved":{reserved}}}"#);
        let order = |customer: &str, lines: &[String]| {
            format!(
                r#"{{"customer":{customer},"reservations":[{}]}}"#,
                lines.join(",")
            )
        };
        let ok = [line("1", r#""x""#)];
        let one = &ok[0];
        let escaped = line("-7", r#""a\nb""#);
        let cases = [
            order(r#""c""#, &ok),
            order(r#""c\u00e9 \"q\" ""#, &[escaped, line("9", r#"" y ""#)]),
            format!(r#"{{ "reservations" : [ {one} ] , "customer" : "c" }}"#),
            r#"{"reservations":[{"reserved":"x","id":1}],"customer":"c"}"#.to_string(),
            order("null", &ok),
            order(r#""""#, &ok),
            order(r#"" \t""#, &ok),
            order("3", &ok),
            order(r#""c""#, &[]),
            order(r#""c""#, &[line("1", r#""x""#), line("1", r#""y""#)]),
            order(r#""c""#, &[line("1.0", r#""x""#)]),
            order(r#""c""#, &[line("9223372036854775808", r#""x""#)]),
            order(r#""c""#, &[line("null", r#""x""#)]),
            order(r#""c""#, &[line("1", "null")]),
            order(r#""c""#, &[line("1", r#"" ""#)]),
            order(r#""c""#, &[line("1", "2")]),
            order(r#""c""#, &[r#"{"id":1}"#.to_string()]),
            order(
                r#""c""#,
                &[r#"{"id":1,"reserved":"x","qty":1}"#.to_string()],
            ),
            order(r#""c""#, &["[]".to_string()]),
            format!(r#"{{"customer":"c","customer":"d","reservations":[{one}]}}"#),
            format!(r#"{{"customer":"c","reservations":[{one}],"note":1}}"#),
            r#"{"customer":"c","reservations":{}}"#.to_string(),
            r#"{"customer":"c"}"#.to_string(),
            "[]".to_string(),
            "{}".to_string(),
        ];
        let mut short = 0;
        for case in &cases {
            let input = Input { text: case };
            let raw: &RawValue = serde_json::from_str(case).unwrap();
            let explained = input.order_explained(raw);
            assert_eq!(input.order(raw), explained, "{case}");
            if let Ok(StrictOrder(order)) = serde_json::from_str::<StrictOrder>(case) {
                if is_valid(&order) {
                    short += 1;
                    assert_eq!(Ok(order), explained, "{case}");
                }
            }
        }
        assert_eq!(short, 4, "the valid cases are read the short way");
    }

    /// Every order built from these pieces, up to two lines: the two ways
    /// of reading agree on each, whatever a future rule adds to one of them.
    #[test]
    fn the_short_and_the_long_way_agree_on_every_order_of_these_pieces() {
        let customers = [r#""c""#, r#""""#, r#"" \t""#, "null", "3", r#""\u00e9""#];
        let ids = [
            "1",
            "-7",
            "0",
            "1.0",
            "null",
            r#""1""#,
            "9223372036854775808",
        ];
        let reserved = [r#""x""#, r#""""#, r#"" ""#, "null", "2", r#""a\"b""#];
        let mut lines = vec![String::new()];
        for id in ids {
            for r in reserved {
                lines.push(format!(r#"{{"id":{id},"reserved":{r}}}"#));
            }
        }
        lines.push(r#"{"id":1,"reserved":"x","qty":1}"#.to_string());
        let (mut cases, mut accepted) = (0, 0);
        for customer in customers {
            for first in &lines {
                for second in &lines {
                    let body = match (first.is_empty(), second.is_empty()) {
                        (true, true) => String::new(),
                        (true, false) | (false, true) => continue,
                        (false, false) if first == second => first.clone(),
                        _ => format!("{first},{second}"),
                    };
                    let text = format!(r#"{{"customer":{customer},"reservations":[{body}]}}"#);
                    let input = Input { text: &text };
                    let raw: &RawValue = serde_json::from_str(&text).unwrap();
                    let explained = input.order_explained(raw);
                    assert_eq!(input.order(raw), explained, "{text}");
                    cases += 1;
                    accepted += usize::from(explained.is_ok());
                }
            }
        }
        // Valid: 2 customers × (6 one-line orders + 24 two-line ones whose
        // ids differ).
        assert_eq!((cases, accepted), (11_100, 60));
    }

    #[test]
    fn counts_columns_in_characters() {
        assert_eq!(
            err("{\"customer\":\"é\",\"reservations\":[]}"),
            "1:32: \"reservations\" is empty"
        );
    }
}
