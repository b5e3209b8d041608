//! A tensor's device memory: a pooled buffer that goes back to the pool
//! when the last tensor viewing it is dropped.

use crate::runtime::{Runtime, rt};

/// A pooled device buffer shared by all views of one tensor.
pub(crate) struct Storage {
    buffer: Option<wgpu::Buffer>,
    runtime: &'static Runtime,
}

impl Storage {
    pub(crate) fn new(buffer: wgpu::Buffer) -> Storage {
        Storage {
            buffer: Some(buffer),
            runtime: rt(),
        }
    }

    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buffer
            .as_ref()
            .expect("a storage holds its buffer until dropped")
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.runtime.release(buffer);
        }
    }
}
