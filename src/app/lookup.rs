//! Turning what a user typed (an id, or a unique prefix of at least four
//! characters, as git takes short hashes) into the one thing it names.

use std::fmt::Write as _;

use crate::render::ShortIds;
use crate::store::{DocumentKind, Found, Queries};

pub const MIN_PREFIX: usize = 4;
const MAX_CANDIDATES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("ID prefix '{prefix}' is too short: give at least {MIN_PREFIX} characters")]
    TooShort { prefix: String },
    #[error("'{text}' is not an ID: IDs are hex digits and dashes")]
    NotAnId { text: String },
    #[error("no {what} has an ID starting with '{prefix}'")]
    NotFound { prefix: String, what: String },
    #[error("{}", ambiguous_message(.prefix, .candidates))]
    Ambiguous {
        prefix: String,
        candidates: Vec<Found>,
    },
}

fn ambiguous_message(prefix: &str, candidates: &[Found]) -> String {
    let mut message = format!("ID prefix '{prefix}' is ambiguous; the candidates are:");
    for found in candidates {
        let _ = write!(message, "\n  {:<11}  {}", found.kind.as_str(), found.id);
    }
    message
}

/// Normalizes and checks what the user typed, without touching the store.
pub fn parse_prefix(text: &str) -> Result<String, LookupError> {
    let prefix = text.trim().to_ascii_lowercase();
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(LookupError::NotAnId {
            text: text.to_string(),
        });
    }
    if prefix.len() < MIN_PREFIX {
        return Err(LookupError::TooShort { prefix });
    }
    Ok(prefix)
}

/// What the user typed as an id when it is one whole, as pi7 prints them,
/// taken as [`parse_prefix`] takes a prefix (blanks around, any case).
pub fn whole_id(text: &str) -> Option<uuid::Uuid> {
    let text = text.trim();
    (text.len() == 36)
        .then(|| uuid::Uuid::try_parse(text).ok())
        .flatten()
}

/// The one thing of one of `kinds` whose id starts with `text`.
pub fn resolve(store: &dyn Queries, text: &str, kinds: &[DocumentKind]) -> anyhow::Result<Found> {
    let prefix = parse_prefix(text)?;
    let mut candidates: Vec<Found> = store.find(&prefix, kinds, MAX_CANDIDATES)?;
    candidates.sort();
    candidates.dedup();
    match candidates.len() {
        0 => Err(LookupError::NotFound {
            prefix,
            what: describe(kinds),
        }
        .into()),
        1 => Ok(candidates.remove(0)),
        _ => Err(LookupError::Ambiguous { prefix, candidates }.into()),
    }
}

fn describe(kinds: &[DocumentKind]) -> String {
    let names: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
    match names.as_slice() {
        [] => "document".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The process that an ID of any kind belongs to.
pub fn process_of(store: &dyn Queries, text: &str) -> anyhow::Result<uuid::Uuid> {
    let kinds = [
        DocumentKind::Process,
        DocumentKind::SalesOrder,
        DocumentKind::Reservation,
    ];
    Ok(resolve(store, text, &kinds)?.process_id)
}

/// Learns the shortest unique prefix (of at least 8 characters) of each of
/// `which` that `ids` does not know yet, for the tables that show them.
pub fn learn_short_ids(
    store: &dyn Queries,
    ids: &mut ShortIds,
    which: impl IntoIterator<Item = uuid::Uuid>,
) -> anyhow::Result<()> {
    for id in which {
        if ids.knows(&id) {
            continue;
        }
        let text = id.to_string();
        let mut length = ShortIds::MIN;
        // Nearly always nothing else starts as it does: one statement says
        // so, where finding its neighbours takes two look-ups of each kind.
        // (The ids shown are ids the store holds, so the one it counts is
        // this one.)
        if store.sharing_prefix(&text[..length])? <= 1 {
            ids.learn(id, length);
            continue;
        }
        for neighbour in store.neighbours(&text)? {
            let common = text
                .bytes()
                .zip(neighbour.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            length = length.max(common + 1);
        }
        ids.learn(id, length);
    }
    Ok(())
}

/// [`learn_short_ids`] for `which`, from nothing.
pub fn short_ids(
    store: &dyn Queries,
    which: impl IntoIterator<Item = uuid::Uuid>,
) -> anyhow::Result<ShortIds> {
    let mut ids = ShortIds::default();
    learn_short_ids(store, &mut ids, which)?;
    Ok(ids)
}
