//! The buffer pool keeps memory flat in create-compute-drop loops.
//!
//! Its own test binary: the pool's statistics are process-wide, and the
//! op tests would allocate alongside it if they shared the process.

use wgrad_tensor::{Tensor, runtime};

#[test]
fn a_thousand_create_compute_drop_iterations_keep_memory_flat() {
    let rt = runtime().expect("device");
    let step = || {
        let a = Tensor::ones(&[256, 64]);
        let b = (&a * 2.0).exp().add(&a);
        let _first_row = b.narrow(0, 0, 1).contiguous();
    };
    for _ in 0..200 {
        step();
    }
    rt.synchronize().expect("sync");
    let before = rt.pool_stats();
    for _ in 0..1000 {
        step();
    }
    rt.synchronize().expect("sync");
    let after = rt.pool_stats();
    assert_eq!(
        after.in_use_bytes, before.in_use_bytes,
        "live tensors hold the same bytes"
    );
    // A step allocates four 64 KiB tensors (256 KiB); 1000 steps without
    // reuse would hold 256 MiB. With at most a few submissions in flight
    // (each at most 64 dispatches, so about 16 steps), the pool needs at
    // most a handful of batches' worth: 16 MiB is a generous ceiling.
    assert!(
        after.allocated_bytes <= 16 << 20,
        "pool grew from {} to {} bytes",
        before.allocated_bytes,
        after.allocated_bytes
    );
    assert!(after.reuses > before.reuses + 3000, "buffers are reused");
}
