//! The workflow log (`-v`), in the original's words.
//!
//! Every handler, the dispatcher and every command say what they do, and
//! most runs show none of it. A line is therefore kept as what it is about
//! (ids, a topic, the components an event goes to) and becomes text only
//! where it is shown: formatting every line of every delivery and throwing
//! the text away cost a bulk command a few percent of its work.

use std::fmt;

use uuid::Uuid;

use super::{Component, ReservationStatus, Topic};

/// One line of the workflow log. Its text is its [`Display`](fmt::Display),
/// which must stay the original's to the byte: the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    /// A customer's order reached the web face.
    WebReceivedRequest,
    AssignedProcess(Uuid),
    AmendingProcess(Uuid),
    PublishingRequest,

    /// An event was appended to the log.
    IntegrationReceived(Topic),
    /// Whom the event just received goes to: its subscribers, as the
    /// routing table has them.
    Routing(&'static [Component]),
    /// A handler published an event that the log already holds.
    AlreadyInLog(Topic, Uuid),
    /// The component could not read the event; the error is the handler's.
    Failed(Component, String),

    SalesOrderReceived(Topic),
    SalesOrderLoaded(Uuid),
    SalesOrderAlreadyHandled,
    SalesOrderPersisted(Uuid),
    SalesOrderAlreadyCancelled(Uuid),
    /// The order was cancelled, for this reason.
    SalesOrderCancelled(String),
    SalesOrderConfirmed,

    ReservationNotForMe(Topic),
    ReservationReceived(Topic),
    /// A request older than the one the reservations already have.
    OlderRevision {
        here: u32,
        older: u32,
    },
    /// A reservation is made for what the line reserves.
    Making(String),
    ReservationPersisted(Uuid),
    ReleasedLineRemoved(Uuid),
    EveryLineReserved,
    Released(Uuid),
    ReleasedBeforeMade(Uuid),
    NothingToRelease,
    ReservationLoaded(Uuid),
    AlreadyDecided(Uuid, ReservationStatus),
    Confirming(Uuid),
    Rejecting(Uuid),
}

/// A log that starts with `lines`, with room for what a handler or a
/// command usually says after them and the two lines of each event it
/// publishes: grown line by line from one, it was allocated three times.
pub fn begin<const N: usize>(lines: [LogLine; N]) -> Vec<LogLine> {
    let mut log = Vec::with_capacity(N.max(8));
    log.extend(lines);
    log
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LogLine::*;
        match self {
            WebReceivedRequest => f.write_str("web: received sales order request"),
            AssignedProcess(process) => write!(f, "     assigned processId {process}"),
            AmendingProcess(process) => write!(f, "     amending processId {process}"),
            PublishingRequest => f.write_str("     publishing sales order request event"),

            IntegrationReceived(topic) => {
                write!(f, "integration: received {}", topic.description())
            }
            Routing(components) => {
                f.write_str("             ")?;
                routing_phrase(f, components)
            }
            AlreadyInLog(topic, id) => write!(
                f,
                "integration: {} {id} is already in the log",
                topic.description()
            ),
            Failed(component, error) => write!(f, "{component}: failed: {error}"),

            SalesOrderReceived(topic) => {
                write!(f, "sales order: received {}", topic.description())
            }
            SalesOrderLoaded(process) => write!(f, "salesorder: loaded context {process}"),
            SalesOrderAlreadyHandled => f.write_str("salesorder: already handled, nothing changes"),
            SalesOrderPersisted(id) => write!(f, "salesorder: persisted {id}"),
            SalesOrderAlreadyCancelled(id) => write!(f, "salesorder: {id} is already cancelled"),
            SalesOrderCancelled(reason) => write!(f, "salesorder: cancelled: {reason}"),
            SalesOrderConfirmed => f.write_str("salesorder: all reservations are confirmed"),

            ReservationNotForMe(topic) => {
                write!(f, "reservation: {topic} is not for me, ignored")
            }
            ReservationReceived(topic) => {
                write!(f, "reservation: received {}", topic.description())
            }
            OlderRevision { here, older } => write!(
                f,
                "reservation: revision {here} of the order is already here (revision {older} is older), nothing changes"
            ),
            Making(reserved) => write!(f, "reservation: making reservation for {reserved}"),
            ReservationPersisted(id) => write!(f, "reservation: persisted {id}"),
            ReleasedLineRemoved(id) => write!(f, "reservation: released {id} (line removed)"),
            EveryLineReserved => f.write_str(
                "reservation: every line already has its reservation, nothing changes",
            ),
            Released(id) => write!(f, "reservation: released {id}"),
            ReleasedBeforeMade(id) => {
                write!(f, "reservation: released {id} before it was made")
            }
            NothingToRelease => f.write_str("reservation: nothing left to release"),
            ReservationLoaded(id) => write!(f, "reservation: loaded {id}"),
            AlreadyDecided(id, status) => write!(f, "reservation: {id} is already {status}"),
            Confirming(id) => write!(f, "reservation: confirming {id}"),
            Rejecting(id) => write!(f, "reservation: rejecting {id}"),
        }
    }
}

/// "delivering to sales order and reservation components", as the
/// original named whom an event goes to.
fn routing_phrase(f: &mut fmt::Formatter<'_>, components: &[Component]) -> fmt::Result {
    match components {
        [] => f.write_str("recorded; no component subscribes to it"),
        [one] => write!(f, "delivering to {} component", one.display_name()),
        [init @ .., last] => {
            f.write_str("delivering to ")?;
            for (n, component) in init.iter().enumerate() {
                if n > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(component.display_name())?;
            }
            write!(f, " and {} components", last.display_name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line's text, as the original printed it: `-v`, the server's
    /// stderr and the MQTT inbox show exactly this.
    #[test]
    fn each_line_reads_as_the_original_wrote_it() {
        use Component::{Reservation, SalesOrder};
        use LogLine::*;
        let id = Uuid::from_u128(0x6b91_c191_5923_4374_887d_183a_d752_d46d);
        let table: Vec<(LogLine, &str)> = vec![
            (WebReceivedRequest, "web: received sales order request"),
            (
                AssignedProcess(id),
                "     assigned processId 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                AmendingProcess(id),
                "     amending processId 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                PublishingRequest,
                "     publishing sales order request event",
            ),
            (
                IntegrationReceived(Topic::ReservationConfirm),
                "integration: received reservation confirmation",
            ),
            (
                Routing(&[]),
                "             recorded; no component subscribes to it",
            ),
            (
                Routing(&[SalesOrder]),
                "             delivering to sales order component",
            ),
            (
                Routing(&[SalesOrder, Reservation]),
                "             delivering to sales order and reservation components",
            ),
            (
                Routing(&[Reservation, SalesOrder, Reservation]),
                "             delivering to reservation, sales order and reservation components",
            ),
            (
                AlreadyInLog(Topic::ReservationRelease, id),
                "integration: reservation release 6b91c191-5923-4374-887d-183ad752d46d is already in the log",
            ),
            (
                Failed(SalesOrder, "cannot read the payload".into()),
                "salesorder: failed: cannot read the payload",
            ),
            (
                SalesOrderReceived(Topic::SalesOrderRequest),
                "sales order: received sales order request",
            ),
            (
                SalesOrderLoaded(id),
                "salesorder: loaded context 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                SalesOrderAlreadyHandled,
                "salesorder: already handled, nothing changes",
            ),
            (
                SalesOrderPersisted(id),
                "salesorder: persisted 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                SalesOrderAlreadyCancelled(id),
                "salesorder: 6b91c191-5923-4374-887d-183ad752d46d is already cancelled",
            ),
            (
                SalesOrderCancelled("line 2 (a plane) rejected: no seats".into()),
                "salesorder: cancelled: line 2 (a plane) rejected: no seats",
            ),
            (
                SalesOrderConfirmed,
                "salesorder: all reservations are confirmed",
            ),
            (
                ReservationNotForMe(Topic::SalesOrderConfirm),
                "reservation: salesorder/confirm is not for me, ignored",
            ),
            (
                ReservationReceived(Topic::SalesOrderCancel),
                "reservation: received sales order cancellation",
            ),
            (
                OlderRevision { here: 3, older: 2 },
                "reservation: revision 3 of the order is already here (revision 2 is older), nothing changes",
            ),
            (
                Making("some hotel".into()),
                "reservation: making reservation for some hotel",
            ),
            (
                ReservationPersisted(id),
                "reservation: persisted 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                ReleasedLineRemoved(id),
                "reservation: released 6b91c191-5923-4374-887d-183ad752d46d (line removed)",
            ),
            (
                EveryLineReserved,
                "reservation: every line already has its reservation, nothing changes",
            ),
            (
                Released(id),
                "reservation: released 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                ReleasedBeforeMade(id),
                "reservation: released 6b91c191-5923-4374-887d-183ad752d46d before it was made",
            ),
            (NothingToRelease, "reservation: nothing left to release"),
            (
                ReservationLoaded(id),
                "reservation: loaded 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                AlreadyDecided(id, ReservationStatus::Confirmed),
                "reservation: 6b91c191-5923-4374-887d-183ad752d46d is already confirmed",
            ),
            (
                Confirming(id),
                "reservation: confirming 6b91c191-5923-4374-887d-183ad752d46d",
            ),
            (
                Rejecting(id),
                "reservation: rejecting 6b91c191-5923-4374-887d-183ad752d46d",
            ),
        ];
        for (line, expected) in &table {
            assert_eq!(line.to_string(), *expected, "{line:?}");
        }
        let covered: std::collections::BTreeSet<usize> =
            table.iter().map(|(line, _)| variant(line)).collect();
        assert_eq!(
            covered,
            (0..VARIANTS).collect(),
            "a line with no text above"
        );
    }

    const VARIANTS: usize = 29;

    /// Which line this is. A new line does not compile here until it is
    /// given a number, and the test fails until the table has its text.
    fn variant(line: &LogLine) -> usize {
        use LogLine::*;
        match line {
            WebReceivedRequest => 0,
            AssignedProcess(_) => 1,
            AmendingProcess(_) => 2,
            PublishingRequest => 3,
            IntegrationReceived(_) => 4,
            Routing(_) => 5,
            AlreadyInLog(..) => 6,
            Failed(..) => 7,
            SalesOrderReceived(_) => 8,
            SalesOrderLoaded(_) => 9,
            SalesOrderAlreadyHandled => 10,
            SalesOrderPersisted(_) => 11,
            SalesOrderAlreadyCancelled(_) => 12,
            SalesOrderCancelled(_) => 13,
            SalesOrderConfirmed => 14,
            ReservationNotForMe(_) => 15,
            ReservationReceived(_) => 16,
            OlderRevision { .. } => 17,
            Making(_) => 18,
            ReservationPersisted(_) => 19,
            ReleasedLineRemoved(_) => 20,
            EveryLineReserved => 21,
            Released(_) => 22,
            ReleasedBeforeMade(_) => 23,
            NothingToRelease => 24,
            ReservationLoaded(_) => 25,
            AlreadyDecided(..) => 26,
            Confirming(_) => 27,
            Rejecting(_) => 28,
        }
    }
}
