//! Fuzzes `pi7::domain::order::parse_orders`: it must never panic, and every
//! order it accepts must satisfy the validation rules it claims to enforce.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fn check(text: &str) {
    let Ok(orders) = pi7::domain::order::parse_orders(text) else {
        return;
    };
    assert!(!orders.is_empty(), "Ok with no order for {text:?}");
    for order in &orders {
        assert!(
            !order.customer.trim().is_empty(),
            "empty customer accepted: {order:?}"
        );
        assert!(
            !order.reservations.is_empty(),
            "order without lines accepted: {order:?}"
        );
        let mut ids = HashSet::new();
        for line in &order.reservations {
            assert!(ids.insert(line.id), "duplicate line id accepted: {order:?}");
            assert!(
                !line.reserved.trim().is_empty(),
                "empty reserved accepted: {order:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => check(text),
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});
