//! The queue and the history of one mock, as ComfyUI's `PromptQueue` keeps
//! them.
//!
//! It knows nothing about sockets: [`crate::state::Mock`] holds it under the
//! same lock as the clients, so the `status` broadcast that follows a change
//! cannot be overtaken by the next change.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

/// Client id of placeholder queue items (no socket ever has it).
const PLACEHOLDER_CLIENT: &str = "comfyui-mock-placeholder";

/// ComfyUI keeps at most this many history entries.
const MAX_HISTORY: usize = 10_000;

/// One queued prompt, shown by `/queue` and `/history` as
/// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub number: i64,
    pub prompt_id: String,
    pub prompt: Map<String, Value>,
    pub extra_data: Map<String, Value>,
    pub outputs: Vec<String>,
    /// When it was queued (epoch ms), for the Jobs API's `create_time`.
    /// Kept beside `extra_data`: the 0.3.64 shapes this mock copies have
    /// no `extra_data.create_time`.
    pub create_time: u64,
    /// Test-only pacing from `/__mock/job`: hold the prompt this long before
    /// its nodes run, then (if `cancel`) interrupt it.
    pub hold: Option<Hold>,
}

/// How a `/__mock/job` prompt spends its time and ends.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    /// Time the prompt occupies the executor before its nodes run.
    pub ms: u64,
    /// Interrupt it once the time is up (it then ends `cancelled`).
    pub cancel: bool,
}

impl QueueItem {
    /// The real server's queue item array (0.33 adds
    /// `extra_data.create_time`).
    pub fn to_json(&self) -> Value {
        let mut extra = self.extra_data.clone();
        if STAMP_CREATE.load(Ordering::Relaxed) {
            extra.insert("create_time".into(), json!(self.create_time));
        }
        json!([
            self.number,
            self.prompt_id,
            self.prompt,
            extra,
            self.outputs
        ])
    }

    /// The `client_id` the prompt was submitted with, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.extra_data.get("client_id").and_then(Value::as_str)
    }
}

/// How far the mock's clock runs behind (`--clock-behind`), ms.
static BEHIND_MS: AtomicU64 = AtomicU64::new(0);
/// Prompts carry `extra_data.create_time`, as from 0.33 on.
static STAMP_CREATE: AtomicBool = AtomicBool::new(false);

/// Sets the clock skew and the 0.33 stamping, once at startup.
pub fn configure(behind: Option<std::time::Duration>, stamp_create: bool) {
    let behind = behind.map_or(0, |d| d.as_millis() as u64);
    BEHIND_MS.store(behind, Ordering::Relaxed);
    STAMP_CREATE.store(stamp_create, Ordering::Relaxed);
}

/// Milliseconds since the Unix epoch on the mock's clock, as in ComfyUI's
/// `timestamp` fields (and its `Date` header).
pub fn now_ms() -> u64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    real.saturating_sub(BEHIND_MS.load(Ordering::Relaxed))
}

/// The mock's clock as an HTTP `Date` (IMF-fixdate).
pub fn http_date() -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now_ms() / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The civil date from days since the epoch (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A random UUID in the hyphenated form ComfyUI uses for prompt ids.
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// Queued, running and finished prompts.
#[derive(Default)]
pub struct Store {
    number: i64,
    /// Placeholder items; the first one counts as running.
    fake: Vec<QueueItem>,
    running: Option<QueueItem>,
    pending: VecDeque<QueueItem>,
    /// Insertion-ordered, like the Python dict the real server keeps.
    history: Vec<(String, Value)>,
    /// Queue time of each prompt that ran, for the Jobs API.
    created: HashMap<String, u64>,
}

impl Store {
    /// Number of queued prompts, running ones included.
    pub fn remaining(&self) -> usize {
        self.fake.len() + usize::from(self.running.is_some()) + self.pending.len()
    }

    /// Takes the next prompt number.
    pub fn next_number(&mut self) -> i64 {
        let n = self.number;
        self.number += 1;
        n
    }

    fn placeholder(&mut self) -> QueueItem {
        let prompt = json!({
            "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
        });
        QueueItem {
            number: self.next_number(),
            prompt_id: new_uuid(),
            prompt: prompt.as_object().cloned().unwrap_or_default(),
            // Prompts queued from the UI carry the browser's client id.
            extra_data: json!({"client_id": PLACEHOLDER_CLIENT})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            outputs: vec!["2".into()],
            create_time: now_ms(),
            hold: None,
        }
    }

    /// `GET /queue` body.
    pub fn queue_json(&self) -> Value {
        let running: Vec<Value> = self
            .fake
            .iter()
            .take(1)
            .chain(self.running.iter())
            .map(QueueItem::to_json)
            .collect();
        let pending: Vec<Value> = self
            .fake
            .iter()
            .skip(1)
            .chain(self.pending.iter())
            .map(QueueItem::to_json)
            .collect();
        json!({"queue_running": running, "queue_pending": pending})
    }

    /// Replaces the placeholder queue with `n` items (1 running, n-1 pending).
    pub fn set_fake_queue(&mut self, n: usize) {
        self.fake.clear();
        for _ in 0..n {
            let item = self.placeholder();
            self.fake.push(item);
        }
    }

    /// Queues a prompt. ComfyUI's queue is a heap on the prompt number,
    /// and `"front": true` takes a negative one: the pending list is kept
    /// sorted by number (a valid heap order), equal numbers in arrival order.
    pub fn push(&mut self, item: QueueItem) {
        let at = self.pending.partition_point(|p| p.number <= item.number);
        self.pending.insert(at, item);
    }

    /// Moves the next pending prompt to running, or `None` when nothing is
    /// pending.
    pub fn take_next(&mut self) -> Option<QueueItem> {
        let item = self.pending.pop_front()?;
        self.created
            .insert(item.prompt_id.clone(), item.create_time);
        self.running = Some(item.clone());
        Some(item)
    }

    /// Ends the running prompt and stores its history entry.
    pub fn finish(&mut self, prompt_id: &str, entry: Value) {
        self.running = None;
        self.history.retain(|(id, _)| id != prompt_id);
        self.history.push((prompt_id.to_owned(), entry));
        if self.history.len() > MAX_HISTORY {
            let (old, _) = self.history.remove(0);
            self.created.remove(&old);
        }
    }

    /// The prompt id currently executing, if any.
    pub fn running_id(&self) -> Option<String> {
        self.running.as_ref().map(|i| i.prompt_id.clone())
    }

    /// Removes every pending item.
    pub fn clear_pending(&mut self) {
        self.pending.clear();
        self.fake.truncate(1);
    }

    /// Removes pending items by prompt id; true when the queue got shorter.
    pub fn delete_pending(&mut self, ids: &[&str]) -> bool {
        let before = self.remaining();
        self.pending
            .retain(|i| !ids.contains(&i.prompt_id.as_str()));
        let mut first = true;
        self.fake.retain(|i| {
            // The first placeholder is the running one; only pending go.
            std::mem::take(&mut first) || !ids.contains(&i.prompt_id.as_str())
        });
        self.remaining() != before
    }

    /// `GET /history[?max_items=N&offset=M]`, with ComfyUI's slicing: without
    /// an offset the last `max_items` entries, oldest first.
    pub fn history_json(&self, max_items: Option<usize>, offset: Option<i64>) -> HistoryView {
        let len = self.history.len();
        let start = match (offset, max_items) {
            (Some(o), _) if o >= 0 => usize::try_from(o).unwrap_or(usize::MAX),
            (_, Some(max)) => len.saturating_sub(max),
            _ => 0,
        };
        let take = max_items.unwrap_or(usize::MAX);
        HistoryView(
            self.history
                .iter()
                .skip(start)
                .take(take)
                .cloned()
                .collect(),
        )
    }

    /// `GET /history/{prompt_id}`: `{}` when unknown.
    pub fn history_one(&self, prompt_id: &str) -> HistoryView {
        HistoryView(
            self.history
                .iter()
                .filter(|(id, _)| id == prompt_id)
                .cloned()
                .collect(),
        )
    }

    /// `POST /history`: clear all or delete some entries.
    pub fn edit_history(&mut self, clear: bool, delete: &[&str]) {
        if clear {
            self.history.clear();
        }
        self.history
            .retain(|(id, _)| !delete.contains(&id.as_str()));
        let Self {
            history, created, ..
        } = self;
        created.retain(|id, _| history.iter().any(|(h, _)| h == id));
    }

    /// Every job the Jobs API knows, oldest first: pending items, the
    /// running one, and the history entries.
    pub fn jobs_snapshot(&self) -> JobsSnapshot {
        JobsSnapshot {
            pending: self
                .fake
                .iter()
                .skip(1)
                .chain(self.pending.iter())
                .cloned()
                .collect(),
            running: self.fake.first().or(self.running.as_ref()).cloned(),
            history: self
                .history
                .iter()
                .map(|(id, v)| (v.clone(), self.created.get(id).copied()))
                .collect(),
        }
    }
}

/// What `/api/jobs` is built from.
pub struct JobsSnapshot {
    /// Queued, not started.
    pub pending: Vec<QueueItem>,
    /// Being executed.
    pub running: Option<QueueItem>,
    /// Finished: history entries, oldest first, with their queue times.
    pub history: Vec<(Value, Option<u64>)>,
}

/// History entries in insertion order (serde_json's map would sort them).
pub struct HistoryView(pub(crate) Vec<(String, Value)>);

impl Serialize for HistoryView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
