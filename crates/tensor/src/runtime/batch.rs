//! Deferred execution: dispatches are recorded into one pending command
//! encoder and submitted together, on read-back, on a host write into an
//! existing buffer, or after `MAX_DISPATCHES`.
//!
//! A dispatch whose pipeline has not been created yet is held back, with
//! every dispatch after it, until the batch is encoded: the pipelines they
//! lack are then created in parallel (see `PipelineCache::create_all`), so
//! a model's first step compiles its kernels on all cores.

use std::sync::atomic::Ordering;

use super::pipelines::Pipeline;
use super::pool::{BufferPool, STORAGE_USAGE, size_class};
use super::{Kernel, Runtime};
use crate::error::{Result, TensorError};

/// Dispatches per submission at most. A training step of the workloads in
/// `cargo xtask bench` records 20 to 60 dispatches and ends with an
/// optimizer step, which submits (`Runtime::submit`): so a step is one
/// submission, and the cap only bounds loops that never read back or step.
const MAX_DISPATCHES: u32 = 256;

/// On GL, wgpu runs a submission while holding the one GL context, which
/// other threads wait for at most 6 s: keep GL submissions short.
const MAX_DISPATCHES_GL: u32 = 8;

/// Submissions that may be queued on the GPU beyond the oldest unfinished
/// one. Without a bound the host can record far ahead of a slow device, and
/// the uploads it makes meanwhile (which may not take a buffer queued work
/// still uses) would grow the pool with the lead instead of keeping it flat.
const MAX_IN_FLIGHT: u64 = 2;

/// Bytes of one params uniform buffer; a batch with more params fills
/// several. NOTE: lavapipe (Mesa 22.3) ran a training step about 100x
/// slower (cold shader cache) or 3x slower (warm) when the params buffer was
/// 64 KiB than when it was 16 KiB or less, same dispatches and offsets:
/// something in its per-dispatch uniform handling scales with the buffer.
const PARAMS_BUFFER_BYTES: u64 = 16 << 10;

/// One storage buffer bound at `binding` (binding 0 is the params uniform).
pub(crate) struct Binding<'a> {
    pub(crate) binding: u32,
    pub(crate) buffer: &'a wgpu::Buffer,
}

pub(crate) struct State {
    pub(crate) pool: BufferPool,
    batch: Option<Batch>,
    pub(crate) last_submitted: u64,
    /// Uniform buffers that held a batch's params: (submission, buffer).
    params_buffers: Vec<(u64, wgpu::Buffer)>,
    /// wgpu's index of each recent submission, to wait for the oldest.
    in_flight: std::collections::VecDeque<(u64, wgpu::SubmissionIndex)>,
    params_align: u64,
    params_capacity: u64,
    max_dispatches: u32,
    /// Command buffers submitted so far (empty flushes are not counted).
    pub(crate) submissions: u64,
    /// Compute dispatches recorded so far.
    pub(crate) dispatches: u64,
}

/// The work recorded since the last submission.
struct Batch {
    index: u64,
    encoder: wgpu::CommandEncoder,
    /// The open compute pass all dispatches of the batch go into (wgpu
    /// inserts the barriers between dependent dispatches); closed before a
    /// copy or the submission.
    pass: Option<wgpu::ComputePass<'static>>,
    /// The current params buffer's contents: every dispatch's params, each
    /// at a multiple of the uniform alignment; written with one
    /// `write_buffer` just before the submission.
    params: Vec<u8>,
    params_buffer: wgpu::Buffer,
    /// Params buffers filled earlier in this batch, with their contents.
    full_params: Vec<(wgpu::Buffer, Vec<u8>)>,
    /// Dispatches not encoded yet because a pipeline they need (the first
    /// one's, at least) has not been created: encoded in order, after
    /// their pipelines, by `encode_held`.
    held: Vec<Recorded>,
    dispatches: u32,
}

/// One dispatch with everything needed to encode it.
struct Recorded {
    kernel: Kernel,
    constants: Vec<(&'static str, f64)>,
    /// The params uniform: (buffer, offset, size).
    params: (wgpu::Buffer, u64, u64),
    bindings: Vec<(u32, wgpu::Buffer)>,
    grid: [u32; 3],
}

impl State {
    pub(crate) fn new(backend: wgpu::Backend, limits: &wgpu::Limits) -> State {
        let params_align = u64::from(limits.min_uniform_buffer_offset_alignment);
        State {
            pool: BufferPool::default(),
            batch: None,
            last_submitted: 0,
            params_buffers: Vec::new(),
            in_flight: std::collections::VecDeque::new(),
            params_align,
            params_capacity: PARAMS_BUFFER_BYTES.max(params_align),
            max_dispatches: if backend == wgpu::Backend::Gl {
                MAX_DISPATCHES_GL
            } else {
                MAX_DISPATCHES
            },
            submissions: 0,
            dispatches: 0,
        }
    }

    /// The last submission that can reference a buffer released now.
    fn last_possible_use(&self) -> u64 {
        self.last_submitted + u64::from(self.batch.is_some())
    }
}

/// A buffer's worth of threads as a dispatch grid: at most 65,535
/// workgroups in x, the rest in y. Kernels rebuild the linear index as
/// `gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE`.
pub(crate) fn grid_1d(threads: u64, workgroup_size: u32) -> [u32; 3] {
    let groups = threads.div_ceil(u64::from(workgroup_size)).max(1);
    let x = groups.min(65_535);
    let y = groups.div_ceil(x);
    [x as u32, y as u32, 1]
}

impl Runtime {
    /// A pooled storage buffer of at least `bytes` bytes for a kernel (or a
    /// copy in the pending batch) to write: it may be one that queued work
    /// still reads, as that work runs first.
    pub(crate) fn alloc(&self, op: &'static str, bytes: u64) -> Result<wgpu::Buffer> {
        let class = self.class_within_limit(op, bytes)?;
        let mut st = self.lock();
        if let Some(buffer) = st.pool.take_for_output(class) {
            return Ok(buffer);
        }
        Ok(self.create_pooled(&mut st, op, class))
    }

    /// A pooled storage buffer of at least `bytes` bytes that no queued work
    /// refers to, for `queue.write_buffer`.
    fn alloc_for_upload(&self, op: &'static str, bytes: u64) -> Result<wgpu::Buffer> {
        let class = self.class_within_limit(op, bytes)?;
        let mut st = self.lock();
        if let Some(buffer) = st.pool.take_for_upload(class, self.completed()) {
            return Ok(buffer);
        }
        // Nothing free: let finished submissions report in, then look again.
        let _ = self.device.poll(wgpu::PollType::Poll);
        if let Some(buffer) = st.pool.take_for_upload(class, self.completed()) {
            return Ok(buffer);
        }
        // A buffer of this class waits for a submission: waiting for that
        // (at most MAX_IN_FLIGHT steps back) keeps the pool from growing
        // whenever the host runs ahead of the device. If only the pending
        // batch holds one, that batch is submitted first: a loop that
        // never reads back (an evaluation summing on the device) would
        // otherwise keep every batch it uploads until the batch is full.
        if let Some(index) = st.pool.retired_until(class) {
            if index > st.last_submitted {
                self.flush_locked(&mut st);
            }
            let submission = st.in_flight.iter().find(|(i, _)| *i == index);
            if let Some((_, submission)) = submission {
                self.wait_for_submission(index, submission.clone());
            }
            if let Some(buffer) = st.pool.take_for_upload(class, self.completed()) {
                return Ok(buffer);
            }
        }
        Ok(self.create_pooled(&mut st, op, class))
    }

    /// The size class for `bytes`, or the error of a tensor beyond the
    /// adapter's largest storage binding.
    fn class_within_limit(&self, op: &'static str, bytes: u64) -> Result<u64> {
        let limit = self.summary.max_storage_binding_bytes;
        if bytes > limit {
            return Err(TensorError::TooLarge { op, bytes, limit });
        }
        Ok(size_class(bytes).min(limit.max(256)))
    }

    fn create_pooled(&self, st: &mut State, op: &'static str, class: u64) -> wgpu::Buffer {
        st.pool.created(class);
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(op),
            size: class,
            usage: STORAGE_USAGE,
            mapped_at_creation: false,
        })
    }

    /// Gives a buffer back to the pool once the GPU is done with it.
    pub(crate) fn release(&self, buffer: wgpu::Buffer) {
        let mut st = self.lock();
        let last_use = st.last_possible_use();
        st.pool.give_back(buffer, last_use, self.completed());
    }

    /// A pooled buffer holding `bytes` (uploaded before any pending work runs).
    pub(crate) fn upload(&self, op: &'static str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        let buffer = self.alloc_for_upload(op, bytes.len() as u64)?;
        // No queued work refers to the buffer, so the write may run before
        // the pending batch without a flush.
        if !bytes.is_empty() {
            self.queue.write_buffer(&buffer, 0, bytes);
        }
        Ok(buffer)
    }

    /// Records one compute dispatch. `params` go to binding 0 as a uniform.
    pub(crate) fn dispatch(
        &self,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
        params: &[u8],
        bindings: &[Binding<'_>],
        grid: [u32; 3],
    ) {
        // Profiled dispatches are timed alone, so their pipeline is created
        // first, outside the timing.
        let ready = match &self.profile {
            Some(_) => Some(self.pipelines.get(&self.device, kernel, constants)),
            None => self.pipelines.cached(kernel, constants),
        };
        let mut st = self.lock();
        let params_offset = self.reserve_params(&mut st, params);
        let batch = st.batch.as_mut().expect("reserve_params opens a batch");
        let params_size = (params.len() as u64).next_multiple_of(16).max(16);
        let recorded = Recorded {
            kernel,
            constants: constants.to_vec(),
            params: (batch.params_buffer.clone(), params_offset, params_size),
            bindings: bindings
                .iter()
                .map(|b| (b.binding, b.buffer.clone()))
                .collect(),
            grid,
        };
        match ready {
            Some(pipeline) if batch.held.is_empty() => self.encode(batch, &pipeline, &recorded),
            _ => batch.held.push(recorded),
        }
        batch.dispatches += 1;
        let batch_dispatches = batch.dispatches;
        st.dispatches += 1;
        if let Some(profile) = &self.profile {
            // Time this dispatch alone: submit it and wait for it.
            let start = std::time::Instant::now();
            self.flush_locked(&mut st);
            drop(st);
            let _ = self.wait_idle();
            let took = start.elapsed();
            let mut profile = profile.lock().unwrap_or_else(|p| p.into_inner());
            profile.record(kernel.shader.name, kernel.entry, constants, took);
            return;
        }
        if batch_dispatches >= st.max_dispatches {
            self.flush_locked(&mut st);
        }
    }

    /// Adds `dispatch` to the batch's compute pass.
    fn encode(&self, batch: &mut Batch, pipeline: &Pipeline, dispatch: &Recorded) {
        let (params_buffer, offset, size) = &dispatch.params;
        let used = |binding: u32| {
            pipeline
                .bindings
                .as_ref()
                .is_none_or(|b| b.contains(&binding))
        };
        let mut entries = Vec::with_capacity(dispatch.bindings.len() + 1);
        if used(0) {
            entries.push(wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: params_buffer,
                    offset: *offset,
                    size: wgpu::BufferSize::new(*size),
                }),
            });
        }
        entries.extend(
            dispatch
                .bindings
                .iter()
                .filter(|(binding, _)| used(*binding))
                .map(|(binding, buffer)| wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: buffer.as_entire_binding(),
                }),
        );
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(dispatch.kernel.entry),
            layout: &pipeline.layout,
            entries: &entries,
        });
        let pass = batch.pass.get_or_insert_with(|| {
            let desc = wgpu::ComputePassDescriptor {
                label: Some("wgrad"),
                timestamp_writes: None,
            };
            batch.encoder.begin_compute_pass(&desc).forget_lifetime()
        });
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let [x, y, z] = dispatch.grid;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Creates the pipelines the held dispatches need, in parallel (one
    /// thread per core; one thread on GL, whose single context serialises
    /// them anyway), then encodes those dispatches in order.
    fn encode_held(&self, batch: &mut Batch) {
        if batch.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut batch.held);
        let wanted: Vec<_> = held
            .iter()
            .map(|d| (d.kernel, d.constants.as_slice()))
            .collect();
        let threads = if self.summary.backend == wgpu::Backend::Gl {
            1
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        };
        self.pipelines.create_all(&self.device, &wanted, threads);
        for dispatch in &held {
            let pipeline = self
                .pipelines
                .cached(dispatch.kernel, &dispatch.constants)
                .expect("created above");
            self.encode(batch, &pipeline, dispatch);
        }
    }

    /// Copies `bytes` starting at `offset` of `buffer` to the host.
    pub(crate) fn read_bytes(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        {
            let mut st = self.lock();
            let batch = self.open_batch(&mut st);
            self.encode_held(batch);
            batch.pass = None; // copies go outside compute passes
            batch
                .encoder
                .copy_buffer_to_buffer(buffer, offset, &staging, 0, bytes);
            self.flush_locked(&mut st);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        let mut mapped = None;
        self.wait_until(|_| {
            mapped = rx.try_recv().ok();
            mapped.is_some()
        })?;
        let mapped = match mapped {
            Some(r) => r,
            None => rx
                .recv()
                .map_err(|e| TensorError::ReadBack(e.to_string()))?,
        };
        mapped.map_err(|e| TensorError::ReadBack(e.to_string()))?;
        let data = staging
            .get_mapped_range(..)
            .map_err(|e| TensorError::ReadBack(format!("{e:?}")))?
            .to_vec();
        staging.unmap();
        Ok(data)
    }

    /// Submits the work recorded so far, without waiting for it. Optimizer
    /// steps end with this, so that the device starts on a training step
    /// while the host records the next one.
    pub fn submit(&self) {
        self.flush();
    }

    /// Submits the pending batch, if any.
    pub(crate) fn flush(&self) {
        let mut st = self.lock();
        self.flush_locked(&mut st);
    }

    fn flush_locked(&self, st: &mut State) {
        let Some(mut batch) = st.batch.take() else {
            return;
        };
        self.encode_held(&mut batch);
        batch.pass = None; // end the pass before finishing the encoder
        for (buffer, params) in &batch.full_params {
            self.queue.write_buffer(buffer, 0, params);
        }
        if !batch.params.is_empty() {
            self.queue
                .write_buffer(&batch.params_buffer, 0, &batch.params);
        }
        let submission = self.queue.submit([batch.encoder.finish()]);
        st.submissions += 1;
        st.last_submitted = batch.index;
        st.params_buffers.push((batch.index, batch.params_buffer));
        for (buffer, _) in batch.full_params {
            st.params_buffers.push((batch.index, buffer));
        }
        let completed = self.completed.clone();
        let index = batch.index;
        self.queue.on_submitted_work_done(move || {
            completed.fetch_max(index, Ordering::SeqCst);
        });
        // Let earlier submissions report in without waiting.
        let _ = self.device.poll(wgpu::PollType::Poll);
        st.in_flight.push_back((index, submission));
        let done = self.completed();
        st.in_flight.retain(|(i, _)| *i > done);
        while st.in_flight.len() as u64 > MAX_IN_FLIGHT {
            if let Some((oldest, submission)) = st.in_flight.pop_front() {
                self.wait_for_submission(oldest, submission);
            }
        }
    }

    /// Records that submission `index`, and every one before it, has
    /// completed, for a wait that knows it before the submission's
    /// `on_submitted_work_done` callback has run; returns the latest
    /// completed submission.
    pub(crate) fn mark_completed(&self, index: u64) -> u64 {
        self.completed.fetch_max(index, Ordering::SeqCst).max(index)
    }

    /// Blocks until submission `index` has completed (backpressure).
    fn wait_for_submission(&self, index: u64, submission: wgpu::SubmissionIndex) {
        if self.summary.backend != wgpu::Backend::Gl {
            let wait = wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            };
            // The submission's `on_submitted_work_done` callback can run
            // after this wait returns (seen on lavapipe: the data loader's
            // uploads then found nothing free and created buffers), so a
            // successful wait records the completion itself.
            if self.device.poll(wait).is_ok() {
                self.mark_completed(index);
            }
            return;
        }
        // On GL a blocking wait holds the GL context (see `wait_until`).
        while self.completed() < index {
            if self.device.poll(wgpu::PollType::Poll).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    fn open_batch<'s>(&self, st: &'s mut State) -> &'s mut Batch {
        if st.batch.is_none() {
            let params_buffer = self.params_buffer(st);
            st.batch = Some(Batch {
                index: st.last_submitted + 1,
                encoder: self.device.create_command_encoder(&Default::default()),
                pass: None,
                params: Vec::new(),
                params_buffer,
                full_params: Vec::new(),
                held: Vec::new(),
                dispatches: 0,
            });
        }
        st.batch.as_mut().expect("just opened")
    }

    /// A params buffer no queued work uses: a reused one if possible.
    fn params_buffer(&self, st: &mut State) -> wgpu::Buffer {
        let done = self.completed();
        let reusable = st.params_buffers.iter().position(|(i, _)| *i <= done);
        match reusable {
            Some(at) => st.params_buffers.swap_remove(at).1,
            None => self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: st.params_capacity,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }

    /// Appends `params` to the batch's params block; returns its offset.
    fn reserve_params(&self, st: &mut State, params: &[u8]) -> u64 {
        let align = st.params_align;
        let needed = (params.len() as u64).next_multiple_of(align).max(align);
        let full = st
            .batch
            .as_ref()
            .is_some_and(|b| b.params.len() as u64 + needed > st.params_capacity);
        if full {
            // Start another params buffer; the bind groups already recorded
            // keep theirs.
            let fresh = self.params_buffer(st);
            let batch = st.batch.as_mut().expect("a full batch is open");
            let buffer = std::mem::replace(&mut batch.params_buffer, fresh);
            let params = std::mem::take(&mut batch.params);
            batch.full_params.push((buffer, params));
        }
        let batch = self.open_batch(st);
        let offset = batch.params.len() as u64;
        batch.params.extend_from_slice(params);
        batch.params.resize((offset + needed) as usize, 0);
        offset
    }
}
