//! Counters and gauges for `/metrics`, in Prometheus text format. Plain
//! atomics: the relay task updates them, the handler only reads.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// What operators watch: load, memory, storage health.
#[derive(Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    pub documents_in_memory: AtomicU64,
    pub frames_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub frames_rejected: AtomicU64,
    pub documents_evicted: AtomicU64,
    pub documents_loaded: AtomicU64,
    pub documents_compacted: AtomicU64,
    pub changes_refused: AtomicU64,
    pub storage_load_micros: AtomicU64,
    pub storage_writes: AtomicU64,
    pub storage_write_micros: AtomicU64,
    pub storage_failures: AtomicU64,
    pub escalation_runs: AtomicU64,
    pub records_escalated: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set(gauge: &AtomicU64, v: u64) {
        gauge.store(v, Ordering::Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        metric(
            "closeloop_connections",
            "gauge",
            "Open sync connections.",
            &self.connections,
        );
        metric(
            "closeloop_documents_in_memory",
            "gauge",
            "Documents loaded in the relay.",
            &self.documents_in_memory,
        );
        metric(
            "closeloop_sync_frames_received_total",
            "counter",
            "Sync frames received.",
            &self.frames_in,
        );
        metric(
            "closeloop_sync_bytes_received_total",
            "counter",
            "Sync bytes received.",
            &self.bytes_in,
        );
        metric(
            "closeloop_sync_frames_sent_total",
            "counter",
            "Sync frames sent.",
            &self.frames_out,
        );
        metric(
            "closeloop_sync_frames_rejected_total",
            "counter",
            "Malformed frames rejected.",
            &self.frames_rejected,
        );
        metric(
            "closeloop_documents_evicted_total",
            "counter",
            "Documents dropped from memory (idle, over budget or unfollowed).",
            &self.documents_evicted,
        );
        metric(
            "closeloop_documents_loaded_total",
            "counter",
            "Documents read from storage into memory.",
            &self.documents_loaded,
        );
        metric(
            "closeloop_documents_compacted_total",
            "counter",
            "Documents whose many stored chunks were replaced by one save on load.",
            &self.documents_compacted,
        );
        metric(
            "closeloop_changes_refused_total",
            "counter",
            "Changes refused by the write rule (docs/write-rules.md).",
            &self.changes_refused,
        );
        metric(
            "closeloop_escalation_runs_total",
            "counter",
            "Completed runs of the escalation job.",
            &self.escalation_runs,
        );
        metric(
            "closeloop_records_escalated_total",
            "counter",
            "Overdue records the system escalated.",
            &self.records_escalated,
        );
        metric(
            "closeloop_storage_load_microseconds_sum",
            "counter",
            "Total time spent reading documents from storage.",
            &self.storage_load_micros,
        );
        metric(
            "closeloop_storage_writes_total",
            "counter",
            "Durable chunk writes.",
            &self.storage_writes,
        );
        metric(
            "closeloop_storage_write_microseconds_sum",
            "counter",
            "Total time spent in durable writes.",
            &self.storage_write_micros,
        );
        metric(
            "closeloop_storage_write_failures_total",
            "counter",
            "Failed durable writes.",
            &self.storage_failures,
        );
        out
    }
}
