//! Choosing the adapter: a real GPU first, then anything else, with
//! `WGRAD_BACKEND` and `WGRAD_ADAPTER` as overrides.

use crate::error::{Result, TensorError};

/// Which backends to look at: `WGRAD_BACKEND`, else wgpu's own `WGPU_BACKEND`,
/// else all of them.
fn requested_backends() -> Result<(wgpu::Backends, String)> {
    if let Ok(name) = std::env::var("WGRAD_BACKEND") {
        let backends = match name.to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => wgpu::Backends::VULKAN,
            "metal" | "mtl" => wgpu::Backends::METAL,
            "dx12" | "d3d12" => wgpu::Backends::DX12,
            "gl" | "gles" | "opengl" => wgpu::Backends::GL,
            _ => return Err(TensorError::UnknownBackend(name)),
        };
        return Ok((backends, format!(" for WGRAD_BACKEND={name}")));
    }
    match wgpu::Backends::from_env() {
        Some(b) => Ok((b, " for WGPU_BACKEND".to_string())),
        None => Ok((wgpu::Backends::all(), String::new())),
    }
}

/// Lower is better: discrete GPUs first, CPU drivers (lavapipe, llvmpipe) last.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    // GL is the fallback API: same device through Vulkan/Metal/DX12 wins.
    let api = u8::from(info.backend == wgpu::Backend::Gl);
    (kind, api)
}

/// Creates the instance and picks the best adapter under the overrides.
pub(crate) fn choose_adapter() -> Result<(wgpu::Instance, wgpu::Adapter)> {
    let (backends, mut filter) = requested_backends()?;
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    desc.flags = wgpu::InstanceFlags::default().with_env();
    let instance = wgpu::Instance::new(desc);
    let mut adapters = pollster::block_on(instance.enumerate_adapters(backends));
    if let Ok(want) = std::env::var("WGRAD_ADAPTER") {
        let want_lower = want.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&want_lower));
        filter.push_str(&format!(" matching WGRAD_ADAPTER={want:?}"));
    }
    adapters.sort_by_key(|a| rank(&a.get_info()));
    match adapters.into_iter().next() {
        Some(adapter) => Ok((instance, adapter)),
        None => Err(TensorError::NoAdapter { filter }),
    }
}
