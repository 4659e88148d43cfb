//! Ids that handlers derive from their input instead of drawing at random.
//!
//! Deriving them (UUID v5) is what makes handling deterministic: the same
//! event on the same state creates the same documents and publishes events
//! with the same ids, in every process, on every replay, in every delivery
//! order the checker explores. Only commands draw random (v4) ids.

use uuid::Uuid;

use super::event::Component;

// Fixed namespaces, one per kind of derived id, so ids of different kinds
// can never collide even when derived from the same input.
const SALES_ORDER: Uuid = Uuid::from_u128(0x5d1e_7a1e_0001_4e11_9a3c_0000_0000_0001);
const RESERVATION: Uuid = Uuid::from_u128(0x5d1e_7a1e_0001_4e11_9a3c_0000_0000_0002);
const PUBLISHED: Uuid = Uuid::from_u128(0x5d1e_7a1e_0001_4e11_9a3c_0000_0000_0003);
const FACT: Uuid = Uuid::from_u128(0x5d1e_7a1e_0001_4e11_9a3c_0000_0000_0004);

/// The one sales order of a process. Derived from the processId alone so
/// that the saga gives it the same id whichever event creates it.
pub fn sales_order_id(process_id: Uuid) -> Uuid {
    Uuid::new_v5(&SALES_ORDER, process_id.as_bytes())
}

/// The reservation made for line `line_id` of a process's order. The saga
/// derives the same id for the line, so a line knows its reservation before
/// the reservation component has even made it.
pub fn reservation_id(process_id: Uuid, line_id: i64) -> Uuid {
    let mut name = process_id.as_bytes().to_vec();
    name.extend_from_slice(&line_id.to_be_bytes());
    Uuid::new_v5(&RESERVATION, &name)
}

/// The id of an event that states a fact that happens once for `subject`
/// (`salesorder/confirm` for a process, say), whichever event led to it.
/// Deriving it from the subject rather than the cause makes the event the
/// same in every delivery order, and publishing it twice a no-op.
pub fn fact_event_id(subject: Uuid, topic: super::event::Topic) -> Uuid {
    let mut name = subject.as_bytes().to_vec();
    name.extend_from_slice(topic.as_str().as_bytes());
    Uuid::new_v5(&FACT, &name)
}

/// The id of the `index`-th event that `component` publishes while handling
/// the event `cause`.
pub fn published_event_id(cause: Uuid, component: Component, index: usize) -> Uuid {
    let mut name = cause.as_bytes().to_vec();
    name.extend_from_slice(component.as_str().as_bytes());
    name.extend_from_slice(&(index as u64).to_be_bytes());
    Uuid::new_v5(&PUBLISHED, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let p = Uuid::from_u128(42);
        assert_eq!(reservation_id(p, 1), reservation_id(p, 1));
        assert_ne!(reservation_id(p, 1), reservation_id(p, 2));
        assert_ne!(reservation_id(p, 1), reservation_id(Uuid::from_u128(43), 1));
        assert_ne!(sales_order_id(p), reservation_id(p, 0));
        assert_ne!(
            published_event_id(p, Component::SalesOrder, 0),
            published_event_id(p, Component::Reservation, 0)
        );
        assert_eq!(sales_order_id(p).get_version_num(), 5);
    }
}
