//! Holding back repeated lines. A server that refuses fast retries, floods
//! `status` messages or steps a sampler twenty times a second would
//! otherwise write a line each time; a [`Pacer`] lets one through per
//! interval, keeps the newest of the rest, and counts what it dropped, so
//! the next line can say how many were held back.

use std::time::{Duration, Instant};

/// At most one item per `every`; the newest held-back item is kept for
/// [`Pacer::flush`] or [`Pacer::flush_due`].
#[derive(Debug, Clone)]
pub struct Pacer<T> {
    every: Duration,
    last: Option<Instant>,
    held: Option<T>,
    /// Items offered since the last one let through that will never be
    /// written (superseded by a newer one).
    dropped: u32,
}

impl<T> Pacer<T> {
    /// A pacer that lets one item through per `every`.
    pub fn new(every: Duration) -> Pacer<T> {
        Pacer {
            every,
            last: None,
            held: None,
            dropped: 0,
        }
    }

    fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= self.every)
    }

    fn pass(&mut self, item: T, held_before: u32) -> Option<(T, u32)> {
        self.last = Some(Instant::now());
        self.dropped = 0;
        Some((item, held_before))
    }

    /// Offers `item`: returns it, with how many items before it were held
    /// back and never written, if one interval has passed since the last
    /// item let through; else keeps it (replacing an older held item).
    pub fn offer(&mut self, item: T) -> Option<(T, u32)> {
        if self.due() {
            let held = self.dropped + u32::from(self.held.take().is_some());
            return self.pass(item, held);
        }
        if self.held.replace(item).is_some() {
            self.dropped = self.dropped.saturating_add(1);
        }
        None
    }

    /// The item held back, if any.
    pub fn held(&self) -> Option<&T> {
        self.held.as_ref()
    }

    /// Counts an item that was held back but needs no line of its own (it
    /// says what the last line says); a held newer one is dropped with it.
    pub fn absorb(&mut self) {
        let held = u32::from(self.held.take().is_some());
        self.dropped = self.dropped.saturating_add(1 + held);
    }

    /// The held item, if an interval has passed since the last one.
    pub fn flush_due(&mut self) -> Option<(T, u32)> {
        if self.held.is_some() && self.due() {
            return self.flush();
        }
        None
    }

    /// The held item now, whatever the time (before a line that must not
    /// wait, such as a state change).
    pub fn flush(&mut self) -> Option<(T, u32)> {
        let item = self.held.take()?;
        let dropped = self.dropped;
        self.pass(item, dropped)
    }

    /// Forgets the timing, so the next item passes at once (a new outage,
    /// a new session).
    pub fn reset(&mut self) {
        self.last = None;
        self.held = None;
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_per_interval_and_the_newest_held_one_carries_the_count() {
        let mut p = Pacer::new(Duration::from_secs(3600));
        assert_eq!(p.offer(1), Some((1, 0)));
        for i in 2..=42 {
            assert_eq!(p.offer(i), None);
        }
        assert_eq!(p.flush_due(), None, "not due within the hour");
        // 2..=41 were superseded; 42 is written with their count.
        assert_eq!(p.flush(), Some((42, 40)));
        assert_eq!(p.flush(), None);
        p.reset();
        assert_eq!(p.offer(7), Some((7, 0)));
    }

    #[test]
    fn with_no_interval_everything_passes() {
        let mut p = Pacer::new(Duration::ZERO);
        assert_eq!(p.offer("a"), Some(("a", 0)));
        assert_eq!(p.offer("b"), Some(("b", 0)));
    }

    #[test]
    fn absorbed_items_are_counted_on_the_next_line() {
        let mut p = Pacer::new(Duration::from_secs(3600));
        assert_eq!(p.offer(1), Some((1, 0)));
        assert_eq!(p.offer(2), None);
        p.absorb();
        assert_eq!(p.flush(), None);
        assert_eq!(p.offer(3), None);
        assert_eq!(p.flush(), Some((3, 2)));
    }
}
