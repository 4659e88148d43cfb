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

/// The UUID v5 of `name` in `namespace`: the same as `Uuid::new_v5`, but
/// hashed with the processor's SHA instructions where it has them. uuid's
/// portable SHA-1 took a twentieth of a bulk submit's instructions: every
/// order derives four ids, and the saga derives its lines' again.
fn v5(namespace: &Uuid, name: &[u8]) -> Uuid {
    use sha1::{Digest, Sha1};
    let hash = Sha1::new()
        .chain_update(namespace.as_bytes())
        .chain_update(name)
        .finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// The one sales order of a process. Derived from the processId alone so
/// that the saga gives it the same id whichever event creates it.
pub fn sales_order_id(process_id: Uuid) -> Uuid {
    v5(&SALES_ORDER, process_id.as_bytes())
}

/// The reservation made for line `line_id` of a process's order. The saga
/// derives the same id for the line, so a line knows its reservation before
/// the reservation component has even made it.
pub fn reservation_id(process_id: Uuid, line_id: i64) -> Uuid {
    let mut name = process_id.as_bytes().to_vec();
    name.extend_from_slice(&line_id.to_be_bytes());
    v5(&RESERVATION, &name)
}

/// The id of an event that states a fact that happens once for `subject`
/// (`salesorder/confirm` for a process, say), whichever event led to it.
/// Deriving it from the subject rather than the cause makes the event the
/// same in every delivery order, and publishing it twice a no-op.
pub fn fact_event_id(subject: Uuid, topic: super::event::Topic) -> Uuid {
    let mut name = subject.as_bytes().to_vec();
    name.extend_from_slice(topic.as_str().as_bytes());
    v5(&FACT, &name)
}

/// The id of the `index`-th event that `component` publishes while handling
/// the event `cause`.
pub fn published_event_id(cause: Uuid, component: Component, index: usize) -> Uuid {
    let mut name = cause.as_bytes().to_vec();
    name.extend_from_slice(component.as_str().as_bytes());
    name.extend_from_slice(&(index as u64).to_be_bytes());
    v5(&PUBLISHED, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids already in databases were derived by `Uuid::new_v5`: the same
    /// namespace and name must give the same id, whatever the name's length
    /// (one SHA-1 block or more).
    #[test]
    fn v5_is_uuids_v5() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for length in 0..200 {
            let namespace = Uuid::from_u64_pair(next(), next());
            let name: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            assert_eq!(
                v5(&namespace, &name),
                Uuid::new_v5(&namespace, &name),
                "{length}"
            );
        }
        for namespace in [SALES_ORDER, RESERVATION, PUBLISHED, FACT] {
            assert_eq!(v5(&namespace, b"pi7"), Uuid::new_v5(&namespace, b"pi7"));
        }
    }

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
