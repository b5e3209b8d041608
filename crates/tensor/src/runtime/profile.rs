//! A per-kernel profiler for finding where a step's time goes
//! (`WGRAD_PROFILE=1`).
//!
//! When enabled, every dispatch is submitted on its own and waited for, and
//! its wall time is added to its kernel's total. That serialises the device
//! and adds the cost of a submission and a wait to every entry, so the
//! totals rank kernels rather than measure them: use the benchmarks for
//! figures.

use std::collections::HashMap;
use std::time::Duration;

/// Time spent in one kernel while profiling.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelTime {
    /// `shader.wgsl:entry`.
    pub kernel: String,
    /// Dispatches timed.
    pub calls: u64,
    /// Their summed wall time, each including a submission and a wait.
    pub total: Duration,
}

#[derive(Default)]
pub(crate) struct Profile {
    by_kernel: HashMap<(&'static str, &'static str), (u64, Duration)>,
}

impl Profile {
    pub(crate) fn enabled_by_env() -> bool {
        std::env::var("WGRAD_PROFILE").is_ok_and(|v| !v.is_empty() && v != "0")
    }

    pub(crate) fn record(&mut self, shader: &'static str, entry: &'static str, took: Duration) {
        let slot = self.by_kernel.entry((shader, entry)).or_default();
        slot.0 += 1;
        slot.1 += took;
    }

    /// The kernels by total time, largest first; clears the profile.
    pub(crate) fn take(&mut self) -> Vec<KernelTime> {
        let mut out: Vec<KernelTime> = self
            .by_kernel
            .drain()
            .map(|((shader, entry), (calls, total))| KernelTime {
                kernel: format!("{shader}:{entry}"),
                calls,
                total,
            })
            .collect();
        out.sort_by_key(|k| std::cmp::Reverse(k.total));
        out
    }
}
