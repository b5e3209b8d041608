//! The device runtime: one wgpu device per process, a pipeline cache, a
//! buffer pool, and a pending command encoder that ops record into and that
//! is submitted in batches.
//!
//! Nothing here reads back to the host unless asked to (`read_bytes`).

mod adapter;
mod batch;
mod pipelines;
mod pool;
mod profile;
mod specialize;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{Result, TensorError};
use batch::State;
pub(crate) use batch::{Binding, grid_1d};
pub use pipelines::{CompileStats, Kernel, Shader};
pub use pool::PoolStats;
pub use profile::KernelTime;

/// What a user wants to know about the chosen adapter.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Vulkan, Metal, Dx12 or Gl.
    pub backend: wgpu::Backend,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: wgpu::DeviceType,
    /// The driver's name and version.
    pub driver: String,
    /// The largest buffer one storage binding may cover, in bytes.
    pub max_storage_binding_bytes: u64,
    /// The largest buffer the device can create, in bytes.
    pub max_buffer_bytes: u64,
    /// The largest workgroup count in one dispatch dimension.
    pub max_workgroups_per_dimension: u32,
    /// The most storage buffers one kernel may bind.
    pub max_storage_buffers_per_stage: u32,
    /// Whether kernels may share values across a workgroup of 8 with
    /// subgroup operations: the adapter has the SUBGROUP feature and no
    /// subgroup is smaller than 8 invocations (lavapipe: exactly 8).
    pub subgroups_of_8: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?}, driver {:?}); storage binding up to {} MiB, buffers up to {} MiB, \
             {} workgroups per dimension{}",
            self.name,
            self.backend,
            self.device_type,
            self.driver,
            self.max_storage_binding_bytes >> 20,
            self.max_buffer_bytes >> 20,
            self.max_workgroups_per_dimension,
            if self.subgroups_of_8 {
                ", subgroups of 8"
            } else {
                ""
            }
        )
    }
}

/// The process-wide GPU device with its queue, pool and pending work.
pub struct Runtime {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    pipelines: pipelines::PipelineCache,
    state: Mutex<State>,
    /// The highest submission index known to have completed on the GPU.
    completed: Arc<AtomicU64>,
    /// Per-kernel wall times when `WGRAD_PROFILE` is set.
    profile: Option<Mutex<profile::Profile>>,
}

static RUNTIME: OnceLock<std::result::Result<Runtime, TensorError>> = OnceLock::new();

/// The process's runtime, created on first use.
///
/// One device per process: creating and dropping wgpu devices repeatedly
/// leaks on some drivers (lavapipe among them), and tensors from two devices
/// could not meet in one op anyway.
pub fn runtime() -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(Runtime::create)
        .as_ref()
        .map_err(Clone::clone)
}

/// The runtime for ops that cannot return an error: panics with the
/// runtime's own message (what to install) when there is no adapter.
pub(crate) fn rt() -> &'static Runtime {
    match runtime() {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    }
}

impl Runtime {
    fn create() -> Result<Runtime> {
        let (_instance, adapter) = adapter::choose_adapter()?;
        let info = adapter.get_info();
        // The adapter's real limits, not WebGPU's conservative defaults:
        // lavapipe binds 128 MiB of storage where the default is 128 MiB on
        // paper but real GPUs allow far more.
        let limits = adapter.limits();
        let subgroups_of_8 =
            adapter.features().contains(wgpu::Features::SUBGROUP) && info.subgroup_min_size >= 8;
        let desc = wgpu::DeviceDescriptor {
            label: Some("wgrad"),
            required_features: if subgroups_of_8 {
                wgpu::Features::SUBGROUP
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| TensorError::RequestDevice(e.to_string()))?;
        let summary = AdapterSummary {
            name: info.name,
            backend: info.backend,
            device_type: info.device_type,
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
            subgroups_of_8,
        };
        let state = State::new(info.backend, &limits);
        Ok(Runtime {
            device,
            queue,
            summary,
            pipelines: pipelines::PipelineCache::default(),
            state: Mutex::new(state),
            completed: Arc::new(AtomicU64::new(0)),
            profile: profile::Profile::enabled_by_env().then(Mutex::default),
        })
    }

    /// The chosen adapter: name, backend and the limits that matter.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The wgpu device, for callers that build their own passes.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// Statistics of the buffer pool.
    pub fn pool_stats(&self) -> PoolStats {
        self.lock().pool.stats()
    }

    /// With `WGRAD_PROFILE=1`: the wall time of each kernel since the last
    /// call, largest first (empty when profiling is off).
    pub fn take_profile(&self) -> Vec<KernelTime> {
        self.profile.as_ref().map_or_else(Vec::new, |p| {
            p.lock().unwrap_or_else(|p| p.into_inner()).take()
        })
    }

    /// Pipelines compiled so far and the time spent compiling them.
    pub fn compile_stats(&self) -> CompileStats {
        self.pipelines.stats()
    }

    /// How many batches of work have been submitted to the device so far.
    /// A training step in steady state should add exactly one.
    pub fn submissions(&self) -> u64 {
        self.lock().submissions
    }

    /// How many compute dispatches have been recorded so far (kernels run;
    /// buffer copies and uploads are not dispatches).
    pub fn dispatches(&self) -> u64 {
        self.lock().dispatches
    }

    /// Submits pending work and waits until the GPU has finished all of it.
    pub fn synchronize(&self) -> Result<()> {
        self.flush();
        // Uploads (`write_buffer`) run with the next submission: submit an
        // empty one so that they, too, have finished when this returns.
        self.queue.submit([]);
        let submitted = self.lock().last_submitted;
        self.wait_idle()?;
        // Every submission made before the wait has finished, whether or
        // not its completion callback has run yet (see `mark_completed`).
        let done = self.mark_completed(submitted);
        self.lock().pool.harvest(done);
        Ok(())
    }

    /// Waits for the GPU, then returns the pool's free buffers to the device.
    pub fn empty_cache(&self) -> Result<()> {
        self.synchronize()?;
        self.lock().pool.release_free();
        Ok(())
    }

    /// Waits until every submitted batch has completed.
    fn wait_idle(&self) -> Result<()> {
        self.wait_until(|status| status.is_queue_empty())
    }

    /// Polls the device until `done` says so (given the poll's status).
    ///
    /// NOTE: on GL, wgpu holds the one GL context while it blocks in a
    /// wait, and any other thread that needs the context (a data loader
    /// uploading the next batch) gives up after 6 s and panics. So on GL we
    /// poll without blocking and sleep briefly between polls.
    pub(crate) fn wait_until(&self, mut done: impl FnMut(wgpu::PollStatus) -> bool) -> Result<()> {
        let blocking = self.summary.backend != wgpu::Backend::Gl;
        loop {
            let how = if blocking {
                wgpu::PollType::wait_indefinitely()
            } else {
                wgpu::PollType::Poll
            };
            let status = self
                .device
                .poll(how)
                .map_err(|e| TensorError::ReadBack(e.to_string()))?;
            if blocking || done(status) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent enough
        // (every mutation is a single push/pop), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn completed(&self) -> u64 {
        self.completed.load(Ordering::SeqCst)
    }
}
