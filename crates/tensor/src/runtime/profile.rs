//! A per-kernel profiler for finding where a step's time goes
//! (`WGRAD_PROFILE=1`).
//!
//! When enabled, every dispatch is submitted on its own and waited for, and
//! its wall time is added to its kernel's total. That serialises the device
//! and adds the cost of a submission and a wait to every entry, so the
//! totals rank kernels rather than measure them: use the benchmarks for
//! figures.
//!
//! The first dispatch of each pipeline (a kernel with one set of pipeline
//! constants) is also totalled apart: drivers that compile at the first
//! dispatch, lavapipe among them, spend a cold start's time there.

use std::collections::{HashMap, HashSet};
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
    /// Pipelines of this kernel dispatched (one per set of constants).
    pub pipelines: u64,
    /// The summed wall time of each pipeline's first dispatch, included in
    /// `total`.
    pub first_dispatches: Duration,
}

#[derive(Default)]
struct Totals {
    calls: u64,
    total: Duration,
    pipelines: u64,
    first_dispatches: Duration,
}

/// A pipeline's identity: shader, entry point and constants (as bits).
type PipelineKey = (&'static str, &'static str, Vec<(&'static str, u64)>);

#[derive(Default)]
pub(crate) struct Profile {
    by_kernel: HashMap<(&'static str, &'static str), Totals>,
    dispatched: HashSet<PipelineKey>,
}

impl Profile {
    pub(crate) fn enabled_by_env() -> bool {
        std::env::var("WGRAD_PROFILE").is_ok_and(|v| !v.is_empty() && v != "0")
    }

    pub(crate) fn record(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        took: Duration,
    ) {
        let key = (
            shader,
            entry,
            constants.iter().map(|&(n, v)| (n, v.to_bits())).collect(),
        );
        let first = self.dispatched.insert(key);
        let slot = self.by_kernel.entry((shader, entry)).or_default();
        slot.calls += 1;
        slot.total += took;
        if first {
            slot.pipelines += 1;
            slot.first_dispatches += took;
        }
    }

    /// The kernels by total time, largest first; clears the totals (the
    /// pipelines already dispatched stay known, being compiled).
    pub(crate) fn take(&mut self) -> Vec<KernelTime> {
        let mut out: Vec<KernelTime> = self
            .by_kernel
            .drain()
            .map(|((shader, entry), t)| KernelTime {
                kernel: format!("{shader}:{entry}"),
                calls: t.calls,
                total: t.total,
                pipelines: t.pipelines,
                first_dispatches: t.first_dispatches,
            })
            .collect();
        out.sort_by_key(|k| std::cmp::Reverse(k.total));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Profile;

    #[test]
    fn first_dispatches_are_totalled_once_per_pipeline() {
        let ms = Duration::from_millis;
        let mut p = Profile::default();
        // Two pipelines of one kernel (other constants), one dispatched twice.
        p.record("conv.wgsl", "conv", &[("CB", 8.0)], ms(300));
        p.record("conv.wgsl", "conv", &[("CB", 8.0)], ms(2));
        p.record("conv.wgsl", "conv", &[("CB", 16.0)], ms(200));
        p.record("add.wgsl", "add", &[], ms(20));
        let k = p.take();
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].kernel, "conv.wgsl:conv");
        assert_eq!((k[0].calls, k[0].pipelines), (3, 2));
        assert_eq!((k[0].total, k[0].first_dispatches), (ms(502), ms(500)));
        assert_eq!(
            (k[1].calls, k[1].pipelines, k[1].first_dispatches),
            (1, 1, ms(20))
        );
        // After take(), a pipeline already dispatched is not first again.
        p.record("add.wgsl", "add", &[], ms(1));
        let k = p.take();
        assert_eq!((k[0].pipelines, k[0].first_dispatches), (0, ms(0)));
    }
}
