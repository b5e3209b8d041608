//! Compute pipelines, compiled once per (shader, entry point, constants).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::specialize;

/// A WGSL source file from `shaders/`, embedded at build time, or a
/// variant of one: the file with its marked sections replaced by a patch's
/// (see [`crate::shaders::compose`]).
#[derive(Debug)]
pub struct Shader {
    /// The file name (with the patch's, for a variant), used as the cache
    /// key and in labels.
    pub name: &'static str,
    /// The WGSL text.
    pub source: &'static str,
    /// For a variant, the patch applied to `source`.
    pub patch: Option<&'static str>,
}

impl Shader {
    /// The WGSL text the device compiles.
    ///
    /// # Panics
    /// If a variant's patch does not fit its file: `cargo xtask validate`
    /// and the `shaders` unit test compose every variant.
    pub fn text(&self) -> std::borrow::Cow<'static, str> {
        match self.patch {
            None => self.source.into(),
            Some(patch) => crate::shaders::compose(self.source, patch)
                .unwrap_or_else(|e| panic!("{}: {e}", self.name))
                .into(),
        }
    }
}

/// One entry point of a shader.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// The shader that holds the entry point.
    pub shader: &'static Shader,
    /// The entry point's name (the Rust op's name, by convention).
    pub entry: &'static str,
}

impl Kernel {
    /// The kernel named `entry` in `shader`.
    pub const fn new(shader: &'static Shader, entry: &'static str) -> Kernel {
        Kernel { shader, entry }
    }
}

/// A compiled pipeline with its bind group layout.
pub(crate) struct Pipeline {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    /// The bindings the kernel uses, when it was specialised (a dispatch
    /// binds only these); `None`: all that the dispatch names.
    pub(crate) bindings: Option<Vec<u32>>,
}

type Key = (&'static str, &'static str, Vec<(&'static str, u64)>);

/// Override constants: (name, value) pairs.
pub(crate) type Constants<'a> = &'a [(&'static str, f64)];

fn key(kernel: Kernel, constants: &[(&'static str, f64)]) -> Key {
    (
        kernel.shader.name,
        kernel.entry,
        constants.iter().map(|&(n, v)| (n, v.to_bits())).collect(),
    )
}

/// How many pipelines were compiled, and the wall time it took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompileStats {
    /// Pipelines created (one per shader, entry point and constants).
    pub pipelines: u64,
    /// Of those, created from the whole shader with its constants (wgpu's
    /// way), because naga could not specialise the kernel first (see
    /// `runtime/specialize.rs`); 0 is expected.
    pub unspecialized: u64,
    /// Wall time the recording thread spent waiting for pipelines to be
    /// created (`create_compute_pipeline`, where lavapipe runs its shader
    /// passes). Pipelines first needed in one batch are created in parallel,
    /// so this can be less than the sum of their creation times.
    pub time: std::time::Duration,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: Mutex<HashMap<&'static str, Arc<wgpu::ShaderModule>>>,
    pipelines: Mutex<HashMap<Key, Arc<Pipeline>>>,
    /// Each shader parsed once for `specialize` (`None` if that failed).
    parsed: Mutex<HashMap<&'static str, Option<Arc<specialize::Parsed>>>>,
    stats: Mutex<CompileStats>,
}

impl PipelineCache {
    /// The pipeline for `kernel` specialised with `constants` (WGSL
    /// `override` values), if it has been created.
    pub(crate) fn cached(
        &self,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Option<Arc<Pipeline>> {
        lock(&self.pipelines).get(&key(kernel, constants)).cloned()
    }

    /// [`PipelineCache::cached`], created on first use.
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Arc<Pipeline> {
        if let Some(p) = self.cached(kernel, constants) {
            return p;
        }
        self.create_all(device, &[(kernel, constants)], 1);
        self.cached(kernel, constants).expect("just created")
    }

    /// Creates the pipelines of `wanted` that are not cached yet, on up to
    /// `threads` threads at once. A driver that compiles in
    /// `create_compute_pipeline` (lavapipe runs its NIR passes there, 50 ms
    /// to 0.8 s for an unrolled kernel) then uses every core for the first
    /// step of a model instead of one.
    pub(crate) fn create_all(
        &self,
        device: &wgpu::Device,
        wanted: &[(Kernel, Constants<'_>)],
        threads: usize,
    ) {
        let start = std::time::Instant::now();
        let mut jobs: Vec<(Key, Kernel, Constants<'_>)> = Vec::new();
        {
            let cached = lock(&self.pipelines);
            for &(kernel, constants) in wanted {
                let k = key(kernel, constants);
                if !cached.contains_key(&k) && !jobs.iter().any(|(j, ..)| *j == k) {
                    jobs.push((k, kernel, constants));
                }
            }
        }
        if jobs.is_empty() {
            return;
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((k, kernel, constants)) = jobs.get(at) else {
                    return;
                };
                let pipeline = Arc::new(self.create(device, *kernel, constants));
                lock(&self.pipelines).insert(k.clone(), pipeline);
            }
        };
        let helpers = threads.clamp(1, jobs.len()) - 1;
        std::thread::scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(work);
            }
            work();
        });
        let mut stats = lock(&self.stats);
        stats.pipelines += jobs.len() as u64;
        stats.time += start.elapsed();
    }

    fn create(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Pipeline {
        // The kernel specialised here (see `specialize`), or, if that
        // fails, the shader's module with the constants for wgpu to apply.
        let specialized = self.specialized(device, kernel, constants);
        let (module, constants, bindings) = match specialized {
            Some((module, bindings)) => (Arc::new(module), &[][..], Some(bindings)),
            None => {
                lock(&self.stats).unspecialized += 1;
                (self.module(device, kernel.shader), constants, None)
            }
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                // Kernels initialise the workgroup memory they read.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Pipeline {
            pipeline,
            layout,
            bindings,
        }
    }

    /// A module holding only `kernel`, specialised with `constants`;
    /// `None` if naga could not do it (the shaders are validated by
    /// `cargo xtask validate`, so this is not expected, and
    /// `CompileStats::unspecialized` would count it).
    fn specialized(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Option<(wgpu::ShaderModule, Vec<u32>)> {
        let parsed = lock(&self.parsed)
            .entry(kernel.shader.name)
            .or_insert_with(|| specialize::parse(&kernel.shader.text()).map(Arc::new).ok())
            .clone()?;
        // naga's compaction may panic on a module it cannot handle (its
        // documented contract): that too falls back to the whole shader.
        let attempt = std::panic::AssertUnwindSafe(|| {
            specialize::specialize(&parsed, kernel.entry, constants)
        });
        let s = std::panic::catch_unwind(attempt).ok()?.ok()?;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.shader.name),
            source: wgpu::ShaderSource::Naga(std::borrow::Cow::Owned(s.module)),
        });
        Some((module, s.bindings))
    }

    /// What compiling pipelines has cost so far.
    pub(crate) fn stats(&self) -> CompileStats {
        *lock(&self.stats)
    }

    fn module(&self, device: &wgpu::Device, shader: &'static Shader) -> Arc<wgpu::ShaderModule> {
        lock(&self.modules)
            .entry(shader.name)
            .or_insert_with(|| {
                Arc::new(device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(shader.name),
                    source: wgpu::ShaderSource::Wgsl(shader.text()),
                }))
            })
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
