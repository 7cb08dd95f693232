//! `GET /queue`: the counts, the running prompt (its id and 0.33 create
//! time), and the ids still to finish. Whole workflows are skipped without
//! being kept.

use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

use super::describe;
use crate::manager::status::ClockSample;

/// The counts from `GET /queue`, and the id of the running prompt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Queue {
    /// Entries in `queue_running`.
    pub running: u64,
    /// Entries in `queue_pending`.
    pub pending: u64,
    /// `queue_running[0][1]`: the prompt id being executed, if any.
    pub running_prompt_id: Option<String>,
    /// The prompt ids still to finish, running first, at most
    /// [`QUEUE_IDS_MAX`]: a job seen here finished after this poll.
    pub unfinished: Vec<String>,
    /// The running prompt's `extra_data.create_time` (server epoch ms).
    pub running_create_ms: Option<u64>,
    /// The server's clock as its answer's `Date` header showed it (set by
    /// the probe, not by this parser).
    pub clock: Option<ClockSample>,
}

/// Prompt ids kept from one `GET /queue` (a long queue is counted whole).
pub const QUEUE_IDS_MAX: usize = 1024;

#[derive(Deserialize)]
struct RawQueue {
    queue_running: Vec<QueueItem>,
    queue_pending: Vec<PendingItem>,
}

/// A queue entry: `[number, prompt_id, prompt, extra_data, outputs]`. Only
/// the id is kept; the rest (whole workflows) is skipped without allocating.
struct QueueItem {
    prompt_id: Option<String>,
    /// `extra_data.create_time` (0.33 stamps it; 0.3.64 does not).
    create_ms: Option<u64>,
}

/// The fourth element of a queue entry, `extra_data`: only `create_time`
/// is read; anything that is not an object is dropped.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeExtra {
    Extra(ExtraData),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct ExtraData {
    create_time: Option<serde_json::Number>,
}

/// The second element of a queue entry: the prompt id when it is a string;
/// any other value is read whole and dropped, so the entry still counts.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeId {
    Id(String),
    Other(IgnoredAny),
}

/// Reads one `[number, prompt_id, prompt, extra_data, outputs, …]` entry.
fn read_entry<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<QueueItem, A::Error> {
    let _number: Option<IgnoredAny> = seq.next_element()?;
    let prompt_id = match seq.next_element()? {
        Some(MaybeId::Id(id)) => Some(id),
        Some(MaybeId::Other(_)) | None => None,
    };
    let _prompt: Option<IgnoredAny> = seq.next_element()?;
    let create_ms = match seq.next_element()? {
        Some(MaybeExtra::Extra(e)) => e.create_time.and_then(|n| n.as_u64()),
        Some(MaybeExtra::Other(_)) | None => None,
    };
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(QueueItem {
        prompt_id,
        create_ms,
    })
}

impl<'de> Deserialize<'de> for QueueItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = QueueItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a queue entry [number, prompt_id, …]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<QueueItem, A::Error> {
                read_entry(seq)
            }
        }
        d.deserialize_seq(V)
    }
}

/// A `queue_pending` entry: counted whatever it is (as before ids were
/// kept), its id and create time read when it is a queue entry.
struct PendingItem(Option<QueueItem>);

impl<'de> Deserialize<'de> for PendingItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PendingItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<PendingItem, A::Error> {
                read_entry(seq).map(|i| PendingItem(Some(i)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<PendingItem, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(PendingItem(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
            fn visit_unit<E>(self) -> Result<PendingItem, E> {
                Ok(PendingItem(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `GET /queue`.
pub fn queue(body: &[u8]) -> Result<Queue, String> {
    let raw: RawQueue = serde_json::from_slice(body).map_err(describe)?;
    let running = raw.queue_running.iter().find(|i| i.prompt_id.is_some());
    let running_prompt_id = running.and_then(|i| i.prompt_id.clone());
    let running_create_ms = running.and_then(|i| i.create_ms);
    let (running, pending) = (raw.queue_running.len(), raw.queue_pending.len());
    let unfinished = raw
        .queue_running
        .into_iter()
        .chain(raw.queue_pending.into_iter().filter_map(|p| p.0))
        .filter_map(|i| i.prompt_id)
        .take(QUEUE_IDS_MAX)
        .collect();
    Ok(Queue {
        running: running as u64,
        pending: pending as u64,
        running_prompt_id,
        unfinished,
        running_create_ms,
        clock: None,
    })
}
