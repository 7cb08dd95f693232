//! A dependency-free fuzz test of the parsers that read untrusted server
//! bytes: `comfyctl::manager::parse::{system_stats, prompt_info, queue,
//! ws_message}`.
//!
//! Seeds are the real-server captures in `../shared/fixtures/comfyui`
//! (every one must parse). Each case mutates a seed, either as bytes
//! (truncation, bit flips, deletions, duplications, splices, inserted
//! tokens such as huge numbers or deep nesting) or as a JSON tree (a node
//! replaced by a value of another type, a huge number, a long string, deep
//! nesting; a key removed or renamed), and feeds the result to all four
//! parsers. No parser may panic; for tree mutations the results are also
//! checked against the tree (a parser that succeeds must report what the
//! tree holds, and a well-shaped tree must parse).
//!
//! The PRNG is a fixed-seed xorshift, so a failure is reproducible: it
//! prints the seed and case number. `FUZZ_SEED` and `FUZZ_CASES` change the
//! seed and the number of cases (default 20 000, a few seconds).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use comfyctl::manager::parse::{self, WsMessage};
use serde_json::{Value, json};

const DEFAULT_CASES: usize = 20_000;
const DEFAULT_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
/// A budget far above the expected run time, so a pathological slowdown
/// fails the test instead of hanging it.
const TIME_LIMIT: Duration = Duration::from_secs(120);
/// Nesting deeper than serde_json's recursion limit (128).
const DEEP: usize = 600;

/// xorshift64*: small, fast, and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------
// Seeds from the captures

/// Which parser a seed was captured for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    SystemStats,
    Prompt,
    Queue,
    Ws,
}

struct Seed {
    kind: Kind,
    origin: String,
    value: Value,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/comfyui")
}

fn read_json(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every captured body of `/system_stats`, `/prompt` and `/queue`, and
/// every captured WebSocket text message.
fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |kind, origin: String, value: Value| {
        seeds.push(Seed {
            kind,
            origin,
            value,
        })
    };
    add(
        Kind::SystemStats,
        "system_stats.json".into(),
        read_json("system_stats.json"),
    );
    add(
        Kind::Prompt,
        "prompt_get_idle.json".into(),
        read_json("prompt_get_idle.json"),
    );
    add(
        Kind::Queue,
        "queue_idle.json".into(),
        read_json("queue_idle.json"),
    );
    add(
        Kind::Queue,
        "queue_after_runs.json body".into(),
        read_json("queue_after_runs.json")["body"].clone(),
    );
    // "GET /route…": [status, body] pairs in the run captures.
    let mut runs: Vec<String> = list_fixtures()
        .into_iter()
        .filter(|n| n.starts_with("run") && n.ends_with("_http.json"))
        .collect();
    runs.sort();
    for name in runs {
        let doc = read_json(&name);
        let mut pairs = Vec::new();
        collect_pairs(&doc, &mut pairs);
        for (key, body) in pairs {
            let kind = if key.starts_with("GET /queue") {
                Kind::Queue
            } else if key.starts_with("GET /prompt") {
                Kind::Prompt
            } else {
                continue;
            };
            add(kind, format!("{name} {key}"), body);
        }
    }
    for entry in read_json("misc_requests.json")
        .as_array()
        .into_iter()
        .flatten()
    {
        let kind = match entry["request"].as_str() {
            Some("GET /api/prompt") => Kind::Prompt,
            Some("GET /api/queue") => Kind::Queue,
            _ => continue,
        };
        add(
            kind,
            format!("misc_requests.json {}", entry["request"]),
            entry["body"].clone(),
        );
    }
    let mut sessions: Vec<String> = list_fixtures()
        .into_iter()
        .filter(|n| n.starts_with("ws_") && n.ends_with(".jsonl"))
        .collect();
    sessions.sort();
    for name in sessions {
        let text = std::fs::read_to_string(fixtures_dir().join(&name)).expect("fixture");
        for (n, line) in text.lines().enumerate() {
            let record: Value = serde_json::from_str(line).expect("jsonl line");
            if record["kind"] == "text" {
                add(Kind::Ws, format!("{name}:{}", n + 1), record["msg"].clone());
            }
        }
    }
    seeds
}

fn list_fixtures() -> Vec<String> {
    std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory ../shared/fixtures/comfyui")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect()
}

/// `"GET /x…": [status, body]` members anywhere in a capture document.
fn collect_pairs(v: &Value, out: &mut Vec<(String, Value)>) {
    if let Value::Object(map) = v {
        for (key, child) in map {
            match child.as_array().map(Vec::as_slice) {
                Some([status, body]) if key.starts_with("GET /") && status.is_u64() => {
                    out.push((key.clone(), body.clone()));
                }
                _ => collect_pairs(child, out),
            }
        }
    }
}

#[test]
fn every_captured_body_and_message_parses() {
    let seeds = seeds();
    let count = |k| seeds.iter().filter(|s| s.kind == k).count();
    assert!(count(Kind::SystemStats) >= 1);
    assert!(count(Kind::Prompt) >= 3, "{}", count(Kind::Prompt));
    assert!(count(Kind::Queue) >= 5, "{}", count(Kind::Queue));
    assert!(count(Kind::Ws) >= 50, "{}", count(Kind::Ws));
    for seed in &seeds {
        for bytes in [
            serde_json::to_vec(&seed.value).unwrap(),
            serde_json::to_vec_pretty(&seed.value).unwrap(),
        ] {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let ok = match seed.kind {
                Kind::SystemStats => parse::system_stats(&bytes).map(|_| ()),
                Kind::Prompt => parse::prompt_info(&bytes).map(|_| ()),
                Kind::Queue => parse::queue(&bytes).map(|_| ()),
                Kind::Ws => parse::ws_message(&text).map(|_| ()),
            };
            assert!(ok.is_ok(), "{}: {ok:?}", seed.origin);
        }
        // And what was parsed is what the capture holds.
        check_tree(&seed.value, &serde_json::to_vec(&seed.value).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", seed.origin));
    }
    // Spot checks against known values.
    let stats = parse::system_stats(&serde_json::to_vec(&seeds[0].value).unwrap()).unwrap();
    assert_eq!(stats.version.as_deref(), Some("0.3.64"));
    assert_eq!(stats.devices.len(), 1);
    let busy = seeds
        .iter()
        .find(|s| s.origin.ends_with("GET /queue while busy"))
        .expect("the busy queue capture");
    let q = parse::queue(&serde_json::to_vec(&busy.value).unwrap()).unwrap();
    assert_eq!((q.running, q.pending), (1, 2));
    assert_eq!(
        q.running_prompt_id.as_deref(),
        Some("ce96c30c-b446-4e0f-8876-366a685b3bf2")
    );
    let statuses = seeds
        .iter()
        .filter(|s| s.kind == Kind::Ws && s.value["type"] == "status")
        .count();
    assert!(statuses > 10);
}

// ---------------------------------------------------------------------------
// Mutations

/// Tokens that stress a JSON parser or a shape check.
fn token(rng: &mut Rng) -> String {
    match rng.below(16) {
        0 => "null".into(),
        1 => "true".into(),
        2 => "[]".into(),
        3 => "{}".into(),
        4 => "\"\"".into(),
        5 => "-1".into(),
        6 => "1e400".into(),
        7 => "18446744073709551616".into(),
        8 => "-9223372036854775809".into(),
        9 => "0.5".into(),
        10 => "\"\\ud800\"".into(),
        11 => "\"\\u0000\"".into(),
        12 => "[".repeat(DEEP),
        13 => "{\"a\":".repeat(DEEP),
        14 => format!("\"{}\"", "x".repeat(rng.below(20_000))),
        _ => "1".repeat(rng.below(400) + 1),
    }
}

/// 1 to 4 byte-level mutations.
fn mutate_bytes(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = b.len();
        let at = if len == 0 { 0 } else { rng.below(len + 1) };
        match rng.below(8) {
            0 => b.truncate(at),
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                b[i] = *rng.pick(b"{}[]\",:0123456789eE.-+ \\\ntfn\x00\xff");
            }
            3 => {
                let end = (at + rng.below(64) + 1).min(len);
                b.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(256) + 1).min(len);
                let copy = b[at..end].to_vec();
                b.splice(at..at, copy);
            }
            5 => {
                let t = token(rng);
                b.splice(at..at, t.into_bytes());
            }
            6 => {
                // Splice: our head, another seed's tail.
                let from = if other.is_empty() {
                    0
                } else {
                    rng.below(other.len())
                };
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
            }
            _ => {
                // Replace a number-looking run with a huge or odd number.
                if let Some(i) = (0..len)
                    .map(|k| (at + k) % len)
                    .find(|&i| b[i].is_ascii_digit())
                {
                    let end = (i..len).find(|&j| !b[j].is_ascii_digit()).unwrap_or(len);
                    let n = rng.pick(&["1e400", "-1", "1.5", "18446744073709551616", "0", "-0"]);
                    b.splice(i..end, n.bytes());
                }
            }
        }
    }
    b
}

/// A random replacement value, often of the wrong type.
fn random_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(rng.chance(2)),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(-1),
        5 => json!(1.5e300),
        6 => json!(0.5),
        7 => json!("x".repeat(rng.below(1000))),
        8 => json!([]),
        9 => json!({}),
        10 => json!([rng.next() % 10, "id", {}, {}, []]),
        11 => {
            let mut v = json!(0);
            for _ in 0..rng.below(200) + 1 {
                v = if rng.chance(2) {
                    json!([v])
                } else {
                    json!({ "a": v })
                };
            }
            v
        }
        12 => Value::Array(
            (0..rng.below(50))
                .map(|i| json!([i, format!("p{i}")]))
                .collect(),
        ),
        _ => json!(rng.next() >> rng.below(64)),
    }
}

/// Number of nodes in a tree (bounded walk targets).
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(nodes).sum(),
        Value::Object(m) => m.values().map(nodes).sum(),
        _ => 0,
    }
}

fn depth(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Applies `f` to the `n`-th node in pre-order; false if there is none.
fn with_nth(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| with_nth(c, n, f)),
        Value::Object(m) => m.values_mut().any(|c| with_nth(c, n, f)),
        _ => false,
    }
}

/// One tree mutation of `node`.
fn mutate_node(rng: &mut Rng, node: &mut Value) {
    match rng.below(5) {
        0 | 1 => *node = random_value(rng),
        2 => {
            if let Value::Object(m) = node
                && !m.is_empty()
            {
                let key = m.keys().nth(rng.below(m.len())).cloned().unwrap();
                let child = m.remove(&key).unwrap();
                if rng.chance(2) {
                    m.insert(format!("{key}_"), child);
                }
            }
        }
        3 => *node = json!([node.take()]),
        _ => {
            if let Value::Array(a) = node {
                if a.is_empty() || rng.chance(2) {
                    a.push(random_value(rng));
                } else {
                    a.remove(rng.below(a.len()));
                }
            }
        }
    }
}

/// 1 to 3 tree mutations.
fn mutate_tree(rng: &mut Rng, input: &Value) -> Value {
    let mut v = input.clone();
    for _ in 0..=rng.below(3) {
        let mut n = rng.below(nodes(&v));
        with_nth(&mut v, &mut n, &mut |node| mutate_node(rng, node));
    }
    v
}

// ---------------------------------------------------------------------------
// Oracles for tree mutations

fn is_obj_or_absent(v: Option<&Value>) -> bool {
    v.is_none_or(|v| v.is_object())
}

/// Checks every parser against what the tree `v` (serialised as `bytes`)
/// holds: a parser that succeeds reports the tree's values, and a tree of
/// the right shape parses.
fn check_tree(v: &Value, bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    // serde_json refuses nesting past 128 levels whatever the shape.
    let shallow = depth(v) < 100;

    // GET /prompt
    let expected = v
        .pointer("/exec_info/queue_remaining")
        .and_then(Value::as_u64);
    match parse::prompt_info(bytes) {
        Ok(n) if v.pointer("/exec_info/queue_remaining").is_some() && Some(n) != expected => {
            return Err(format!("prompt_info gave {n}, the tree has {expected:?}"));
        }
        Err(e) if expected.is_some() && shallow => {
            return Err(format!("prompt_info refused a well-shaped body: {e}"));
        }
        _ => {}
    }

    // GET /queue
    let running = v.get("queue_running").and_then(Value::as_array);
    let pending = v.get("queue_pending").and_then(Value::as_array);
    let well_shaped = v.is_object()
        && pending.is_some()
        && running.is_some_and(|r| r.iter().all(Value::is_array));
    match parse::queue(bytes) {
        Ok(q) => {
            if let (Some(r), Some(p)) = (running, pending) {
                if (q.running, q.pending) != (r.len() as u64, p.len() as u64) {
                    return Err(format!(
                        "queue gave {q:?}, the tree has {}/{}",
                        r.len(),
                        p.len()
                    ));
                }
                let id = r
                    .iter()
                    .find_map(|item| item.get(1).and_then(Value::as_str));
                if q.running_prompt_id.as_deref() != id {
                    return Err(format!("queue gave {q:?}, the first running id is {id:?}"));
                }
            }
        }
        Err(e) if well_shaped && shallow => {
            return Err(format!("queue refused a well-shaped body: {e}"));
        }
        Err(_) => {}
    }

    // GET /system_stats
    if let Ok(s) = parse::system_stats(bytes)
        && let Some(system) = v.get("system").filter(|s| s.is_object())
    {
        let version = system.get("comfyui_version").and_then(Value::as_str);
        if s.version.as_deref() != version {
            return Err(format!(
                "system_stats version {:?} vs {version:?}",
                s.version
            ));
        }
        if let Some(devices) = v.get("devices").and_then(Value::as_array)
            && devices.len() != s.devices.len()
        {
            return Err(format!("system_stats: {} devices", s.devices.len()));
        }
        if let Some(total) = system.get("ram_total").and_then(Value::as_u64)
            && s.ram_total != Some(total)
        {
            return Err(format!("ram_total {:?} vs {total}", s.ram_total));
        }
    }

    // WebSocket
    let kind = v.get("type").and_then(Value::as_str);
    let remaining = v
        .pointer("/data/status/exec_info/queue_remaining")
        .and_then(Value::as_u64);
    match parse::ws_message(text) {
        Ok(WsMessage::Status {
            queue_remaining, ..
        }) if v.is_object() && remaining != Some(queue_remaining) => {
            return Err(format!(
                "status gave {queue_remaining}, the tree has {remaining:?}"
            ));
        }
        Err(e)
            if kind == Some("status")
                && remaining.is_some()
                && is_obj_or_absent(v.get("data"))
                && shallow =>
        {
            return Err(format!("a well-shaped status message was refused: {e}"));
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------

/// Runs `f` (which feeds `bytes` to parsers); a panic fails the test with
/// the seed, the case and the input.
fn guarded<T>(bytes: &[u8], seed: u64, case: usize, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        let shown: String = String::from_utf8_lossy(bytes).chars().take(2000).collect();
        panic!("a parser panicked (FUZZ_SEED={seed} case {case}) on: {shown:?}")
    })
}

/// Runs every parser on `bytes`; true if any accepted them.
fn run_all(bytes: &[u8], seed: u64, case: usize) -> bool {
    guarded(bytes, seed, case, || {
        let text = String::from_utf8_lossy(bytes);
        [
            parse::system_stats(bytes).is_ok(),
            parse::prompt_info(bytes).is_ok(),
            parse::queue(bytes).is_ok(),
            parse::ws_message(&text).is_ok(),
        ]
        .contains(&true)
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn parsers_never_panic_and_agree_with_the_tree_on_mutated_captures() {
    let seed = env_or("FUZZ_SEED", DEFAULT_SEED);
    let cases = env_or("FUZZ_CASES", DEFAULT_CASES);
    let seeds = seeds();
    let raw: Vec<Vec<u8>> = seeds
        .iter()
        .map(|s| serde_json::to_vec(&s.value).unwrap())
        .collect();
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let (mut tree_cases, mut accepted) = (0usize, 0usize);
    for case in 0..cases {
        assert!(
            started.elapsed() < TIME_LIMIT,
            "only {case} of {cases} cases within {TIME_LIMIT:?}"
        );
        let i = rng.below(seeds.len());
        if rng.chance(2) {
            let other = &raw[rng.below(raw.len())];
            let bytes = mutate_bytes(&mut rng, &raw[i], other);
            accepted += usize::from(run_all(&bytes, seed, case));
        } else {
            tree_cases += 1;
            let tree = mutate_tree(&mut rng, &seeds[i].value);
            let bytes = serde_json::to_vec(&tree).unwrap();
            // check_tree runs every parser on the bytes too.
            if let Err(e) = guarded(&bytes, seed, case, || check_tree(&tree, &bytes)) {
                let shown: String = String::from_utf8_lossy(&bytes).chars().take(2000).collect();
                panic!(
                    "FUZZ_SEED={seed} case {case} (from {}): {e}\ninput: {shown}",
                    seeds[i].origin
                );
            }
        }
    }
    eprintln!(
        "fuzz: {cases} cases ({tree_cases} tree mutations; {accepted} byte mutations still accepted) from {} seeds in {:?}",
        seeds.len(),
        started.elapsed()
    );
}

#[test]
fn hand_picked_hostile_inputs_are_errors_not_panics() {
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let long_string = format!("{{\"type\": \"{}\"}}", "x".repeat(1 << 20));
    let inputs: Vec<&[u8]> = vec![
        b"",
        b" ",
        b"\xff\xfe\x00",
        b"null",
        b"[]",
        b"{\"system\": null, \"devices\": null}",
        b"{\"exec_info\": {\"queue_remaining\": -1}}",
        b"{\"exec_info\": {\"queue_remaining\": 1e400}}",
        b"{\"exec_info\": {\"queue_remaining\": 18446744073709551616}}",
        b"{\"queue_running\": [1], \"queue_pending\": []}",
        b"{\"queue_running\": {}, \"queue_pending\": []}",
        b"{\"type\": \"status\", \"data\": {\"status\": {\"exec_info\": {\"queue_remaining\": \"3\"}}}}",
        b"{\"type\": 7}",
        deep_array.as_bytes(),
        deep_object.as_bytes(),
        long_string.as_bytes(),
    ];
    for input in inputs {
        run_all(input, 0, 0);
        assert!(parse::prompt_info(input).is_err());
        assert!(parse::queue(input).is_err());
        assert!(parse::system_stats(input).is_err());
    }
    // Odd but harmless values are tolerated rather than failing the probe.
    let odd_ids = br#"{"queue_running": [[1, 42], [2, ["x"]], [3, {"a": 1}], [4, "p"], []], "queue_pending": [0, "x"]}"#;
    let q = parse::queue(odd_ids).expect("entries with odd ids still count");
    assert_eq!((q.running, q.pending), (5, 2));
    assert_eq!(q.running_prompt_id.as_deref(), Some("p"));
}
