//! Memory gauges from `GET /system_stats`, which every poll already reads:
//! per device (`target`, `device`, `type`) and per target for system RAM.
//! A device that leaves the list loses its series at the next poll, so the
//! label sets stay bounded by what the server lists now.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Descriptor, Labels, register, with};
use crate::manager::Status;

const DEVICE_VRAM_FREE: Descriptor = (
    "device_vram_free_bytes",
    "devices[].vram_free: memory free on the device",
);
const DEVICE_VRAM_TOTAL: Descriptor = ("device_vram_total_bytes", "devices[].vram_total");
const DEVICE_TORCH_VRAM_FREE: Descriptor = (
    "device_torch_vram_free_bytes",
    "devices[].torch_vram_free: reserved by PyTorch but unused",
);
const RAM_FREE: Descriptor = ("ram_free_bytes", "system.ram_free");
const RAM_TOTAL: Descriptor = ("ram_total_bytes", "system.ram_total");
// The names served before the `device_` families, with only a `device`
// label; still served so that existing dashboards and rules keep working.
const VRAM_FREE: Descriptor = (
    "vram_free_bytes",
    "devices[].vram_free (old name of comfyui_device_vram_free_bytes)",
);
const VRAM_TOTAL: Descriptor = (
    "vram_total_bytes",
    "devices[].vram_total (old name of comfyui_device_vram_total_bytes)",
);

/// Devices exported per target: more than any box holds, few enough that a
/// hostile device list cannot flood a scrape.
const MAX_DEVICES: usize = 16;
/// Longest device name kept as a label value, in characters.
const NAME_MAX: usize = 120;

/// The memory families and, per target, the label sets last set.
pub(super) struct Devices {
    vram_free: Family<Labels, Gauge>,
    vram_total: Family<Labels, Gauge>,
    torch_vram_free: Family<Labels, Gauge>,
    old_vram_free: Family<Labels, Gauge>,
    old_vram_total: Family<Labels, Gauge>,
    ram_free: Family<Labels, Gauge>,
    ram_total: Family<Labels, Gauge>,
    /// Per target URL: (old-style labels, new-style labels) of each device
    /// of the last poll.
    known: Mutex<HashMap<String, Vec<(Labels, Labels)>>>,
}

impl Devices {
    /// Registers the families, after the ones registered before.
    pub(super) fn new(r: &mut Registry) -> Devices {
        Devices {
            old_vram_free: register(r, VRAM_FREE, Family::default()),
            old_vram_total: register(r, VRAM_TOTAL, Family::default()),
            vram_free: register(r, DEVICE_VRAM_FREE, Family::default()),
            vram_total: register(r, DEVICE_VRAM_TOTAL, Family::default()),
            torch_vram_free: register(r, DEVICE_TORCH_VRAM_FREE, Family::default()),
            ram_free: register(r, RAM_FREE, Family::default()),
            ram_total: register(r, RAM_TOTAL, Family::default()),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// A good poll: sets what it reported and drops the devices it no
    /// longer lists.
    pub(super) fn apply(&self, url: &str, t: &Labels, status: &Status) {
        let set = |family: &Family<Labels, Gauge>, labels: &Labels, v: Option<u64>| match v {
            Some(v) => {
                family.get_or_create(labels).set(v as i64);
            }
            None => {
                family.remove(labels);
            }
        };
        set(&self.ram_free, t, status.ram_free);
        set(&self.ram_total, t, status.ram_total);
        let mut now = Vec::with_capacity(status.devices.len().min(MAX_DEVICES));
        for d in status.devices.iter().take(MAX_DEVICES) {
            let name: String = d.name.chars().take(NAME_MAX).collect();
            let kind: String = d.kind.chars().take(NAME_MAX).collect();
            let old = with(t, "device", &name);
            let new = with(&old, "type", &kind);
            set(&self.old_vram_free, &old, d.vram_free);
            set(&self.old_vram_total, &old, d.vram_total);
            set(&self.vram_free, &new, d.vram_free);
            set(&self.vram_total, &new, d.vram_total);
            set(&self.torch_vram_free, &new, d.torch_vram_free);
            now.push((old, new));
        }
        let before = match self.known.lock() {
            Ok(mut known) => known.insert(url.to_owned(), now.clone()),
            Err(_) => None,
        };
        for gone in before.unwrap_or_default() {
            if !now.contains(&gone) {
                self.remove(&gone);
            }
        }
    }

    /// A server that is down, or moved: every memory series of `url` goes.
    pub(super) fn forget(&self, url: &str, t: &Labels) {
        self.ram_free.remove(t);
        self.ram_total.remove(t);
        let known = match self.known.lock() {
            Ok(mut known) => known.remove(url),
            Err(_) => None,
        };
        for labels in known.unwrap_or_default() {
            self.remove(&labels);
        }
    }

    fn remove(&self, (old, new): &(Labels, Labels)) {
        self.old_vram_free.remove(old);
        self.old_vram_total.remove(old);
        self.vram_free.remove(new);
        self.vram_total.remove(new);
        self.torch_vram_free.remove(new);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::time::SystemTime;

    use super::super::Metrics;
    use crate::manager::jobs::{Cause, JobError, JobStatus, test_job};
    use crate::manager::{Device, Envelope, Event, State, Status};

    const URL: &str = "http://a:1";

    fn metrics() -> Metrics {
        let activity: HashMap<String, Arc<AtomicU64>> =
            [(URL.to_string(), Arc::new(AtomicU64::new(0)))].into();
        Metrics::new(activity)
    }

    fn send(m: &mut Metrics, event: Event) {
        m.apply(&Envelope {
            id: Default::default(),
            url: Arc::from(URL),
            at: SystemTime::now(),
            event,
        });
    }

    fn gpu(index: u64, free: u64) -> Device {
        Device {
            name: format!("cuda:{index} NVIDIA L4 : cudaMallocAsync"),
            kind: "cuda".into(),
            vram_total: Some(24 << 30),
            vram_free: Some(free),
            torch_vram_free: Some(1 << 20),
        }
    }

    fn poll(m: &mut Metrics, devices: Vec<Device>) {
        let status = Status {
            available: true,
            devices,
            ram_total: Some(64 << 30),
            ram_free: Some(32 << 30),
            ..Status::unknown(URL.into())
        };
        let status = Box::new(status);
        send(
            m,
            Event::Status {
                status,
                running_prompt: None,
                running_age_ms: None,
            },
        );
    }

    fn count(text: &str, name: &str) -> usize {
        text.lines().filter(|l| l.starts_with(name)).count()
    }

    #[test]
    fn every_device_has_its_gauges_and_a_vanished_one_loses_them() {
        let mut m = metrics();
        poll(&mut m, vec![gpu(0, 1 << 30), gpu(1, 2 << 30)]);
        let text = m.render();
        for name in [
            "comfyui_device_vram_free_bytes{",
            "comfyui_device_vram_total_bytes{",
            "comfyui_device_torch_vram_free_bytes{",
            "comfyui_vram_free_bytes{",
        ] {
            assert_eq!(count(&text, name), 2, "{name}: {text}");
        }
        let line = format!(
            "comfyui_device_vram_free_bytes{{target=\"{URL}\",device=\"cuda:1 NVIDIA L4 : cudaMallocAsync\",type=\"cuda\"}} {}",
            2u64 << 30
        );
        assert!(text.contains(&line), "{text}");
        let ram = format!("comfyui_ram_free_bytes{{target=\"{URL}\"}} {}", 32u64 << 30);
        assert!(text.contains(&ram), "{text}");
        // GPU 1 leaves the list (a reset card, a changed CUDA_VISIBLE_DEVICES).
        poll(&mut m, vec![gpu(0, 3 << 30)]);
        let text = m.render();
        assert!(!text.contains("cuda:1"), "{text}");
        assert_eq!(count(&text, "comfyui_device_vram_free_bytes{"), 1);
        // Down: nothing of the memory stays frozen.
        send(
            &mut m,
            Event::State {
                state: State::Disconnected,
                previous: Some(State::Connected),
                reason: String::new(),
            },
        );
        let text = m.render();
        for name in ["comfyui_device_", "comfyui_ram_", "comfyui_vram_"] {
            assert_eq!(count(&text, name), 0, "{name}: {text}");
        }
    }

    #[test]
    fn a_hostile_device_list_stays_bounded() {
        let mut m = metrics();
        let mut devices: Vec<Device> = (0..1000).map(|i| gpu(i, 1)).collect();
        devices[0].name = "x".repeat(10_000);
        poll(&mut m, devices);
        let text = m.render();
        assert_eq!(count(&text, "comfyui_device_vram_free_bytes{"), 16);
        assert!(text.lines().all(|l| l.len() < 1000), "a long label");
    }

    #[test]
    fn failures_count_by_reason() {
        let mut m = metrics();
        for cause in [Cause::Oom, Cause::Oom, Cause::MissingFile] {
            let mut job = test_job("f", JobStatus::Failed);
            job.error = Some(JobError {
                node_id: None,
                node_type: None,
                exception_type: None,
                message: String::new(),
                cause,
            });
            send(&mut m, Event::Job(job));
        }
        // No error at all still counts, as `exception`; a cancel does not.
        send(&mut m, Event::Job(test_job("e", JobStatus::Failed)));
        send(&mut m, Event::Job(test_job("c", JobStatus::Cancelled)));
        let text = m.render();
        for (reason, n) in [("oom", 2), ("missing_file", 1), ("exception", 1)] {
            let line =
                format!("comfyui_job_failures_total{{target=\"{URL}\",reason=\"{reason}\"}} {n}");
            assert!(text.contains(&line), "{line}: {text}");
        }
    }
}
