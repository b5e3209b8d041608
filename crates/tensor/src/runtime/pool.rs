//! The buffer pool: device buffers are reused by size class.
//!
//! A buffer given back while GPU work that uses it may still be queued is
//! *retired* with the index of the last submission that can reference it.
//! Who may take it depends on how the taker writes it:
//! - A kernel's output (`take_for_output`) may take any retired buffer at
//!   once, as PyTorch's caching allocator does on one stream: the dispatch
//!   that writes it is recorded after every dispatch that used the buffer
//!   before, and the queue runs them in that order (wgpu puts a barrier
//!   between them).
//! - A host upload (`take_for_upload`) may take a buffer only once every
//!   submission that can reference it has completed: `queue.write_buffer`
//!   runs before all the command buffers of its submission, so it would
//!   overtake the pending batch's readers of the old contents.

use std::collections::HashMap;

/// The usage every pooled storage buffer has: bound as storage, copied from
/// (read-back, `contiguous`) and copied to (uploads).
pub(crate) const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Memory statistics of the pool, in bytes unless said otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes of device memory the pool holds (in use, retired and free).
    pub allocated_bytes: u64,
    /// Bytes held by live tensors.
    pub in_use_bytes: u64,
    /// The largest `in_use_bytes` seen.
    pub peak_in_use_bytes: u64,
    /// How many buffers were created on the device.
    pub allocations: u64,
    /// How many requests were served from the free lists.
    pub reuses: u64,
}

/// Rounds a request up to its size class: four classes per power of two,
/// so at most 25% of a buffer is slack; 256 bytes at the least.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let top = 63 - bytes.leading_zeros(); // floor(log2)
    let quarter = 1u64 << (top - 2);
    bytes.div_ceil(quarter) * quarter
}

#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    /// (last submission that may use it, buffer)
    retired: Vec<(u64, wgpu::Buffer)>,
    stats: PoolStats,
}

impl BufferPool {
    /// A buffer of the class of `bytes` for the host to write into: one no
    /// submission up to `completed` still needs, if one is ready.
    pub(crate) fn take_for_upload(&mut self, bytes: u64, completed: u64) -> Option<wgpu::Buffer> {
        let class = size_class(bytes);
        if self.free.get(&class).is_none_or(Vec::is_empty) {
            self.harvest(completed);
        }
        let buffer = self.free.get_mut(&class)?.pop()?;
        Some(self.reused(buffer))
    }

    /// A buffer of the class of `bytes` for a kernel to write into, retired
    /// or free. The most recently retired goes first: uploads cannot take
    /// it for the longest, and its memory is the likeliest still in cache.
    pub(crate) fn take_for_output(&mut self, bytes: u64) -> Option<wgpu::Buffer> {
        let class = size_class(bytes);
        let latest = self
            .retired
            .iter()
            .enumerate()
            .filter(|(_, (_, buffer))| buffer.size() == class)
            .max_by_key(|(_, (last_use, _))| *last_use)
            .map(|(at, _)| at);
        let buffer = match latest {
            Some(at) => self.retired.swap_remove(at).1,
            None => self.free.get_mut(&class)?.pop()?,
        };
        Some(self.reused(buffer))
    }

    fn reused(&mut self, buffer: wgpu::Buffer) -> wgpu::Buffer {
        self.stats.reuses += 1;
        self.mark_in_use(buffer.size());
        buffer
    }

    /// The earliest submission after which a retired buffer of the class of
    /// `bytes` becomes free, if one is retired.
    pub(crate) fn retired_until(&self, bytes: u64) -> Option<u64> {
        let class = size_class(bytes);
        self.retired
            .iter()
            .filter(|(_, b)| b.size() == class)
            .map(|&(last_use, _)| last_use)
            .min()
    }

    /// Records a buffer the caller has just created for `class`.
    pub(crate) fn created(&mut self, class: u64) {
        self.stats.allocations += 1;
        self.stats.allocated_bytes += class;
        self.mark_in_use(class);
    }

    fn mark_in_use(&mut self, class: u64) {
        self.stats.in_use_bytes += class;
        self.stats.peak_in_use_bytes = self.stats.peak_in_use_bytes.max(self.stats.in_use_bytes);
    }

    /// Takes a buffer back. `last_use` is the last submission that may use it.
    pub(crate) fn give_back(&mut self, buffer: wgpu::Buffer, last_use: u64, completed: u64) {
        self.stats.in_use_bytes -= buffer.size();
        if last_use <= completed {
            self.free.entry(buffer.size()).or_default().push(buffer);
        } else {
            self.retired.push((last_use, buffer));
        }
    }

    /// Moves retired buffers whose submissions have completed to the free lists.
    pub(crate) fn harvest(&mut self, completed: u64) {
        let mut i = 0;
        while i < self.retired.len() {
            if self.retired[i].0 <= completed {
                let (_, buffer) = self.retired.swap_remove(i);
                self.free.entry(buffer.size()).or_default().push(buffer);
            } else {
                i += 1;
            }
        }
    }

    /// Drops every free buffer (not the retired or in-use ones).
    pub(crate) fn release_free(&mut self) {
        for (_, list) in self.free.drain() {
            for buffer in list {
                self.stats.allocated_bytes -= buffer.size();
                buffer.destroy();
            }
        }
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_round_up_by_at_most_a_quarter() {
        assert_eq!(size_class(1), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 320);
        assert_eq!(size_class(1000), 1024);
        assert_eq!(size_class(1025), 1280);
        for bytes in [300u64, 4097, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let class = size_class(bytes);
            assert!(
                class >= bytes && class <= bytes + bytes / 4 + 1,
                "{bytes} -> {class}"
            );
            assert_eq!(size_class(class), class, "classes are fixed points");
        }
    }
}
