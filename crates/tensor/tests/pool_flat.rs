//! The buffer pool keeps memory flat in create-compute-drop loops, and
//! reuses buffers only where the queue's order makes it safe.
//!
//! Its own test binary: the pool's statistics and the pending batch are
//! process-wide, and the op tests would allocate and submit alongside
//! these if they shared the process. The tests here take turns (`serial`)
//! for the same reason.

use std::sync::{Mutex, MutexGuard};

use wgrad_tensor::{Tensor, runtime};

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_thousand_create_compute_drop_iterations_keep_memory_flat() {
    let _turn = serial();
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
    // reuse would hold 256 MiB. Kernel outputs reuse buffers released
    // earlier in the same batch, so the pool needs about one step's worth:
    // 1 MiB is a generous ceiling.
    assert!(
        after.allocated_bytes <= 1 << 20,
        "pool grew from {} to {} bytes",
        before.allocated_bytes,
        after.allocated_bytes
    );
    assert!(after.reuses > before.reuses + 3000, "buffers are reused");
}

#[test]
fn kernel_outputs_reuse_buffers_released_in_the_same_batch() {
    let _turn = serial();
    let rt = runtime().expect("device");
    rt.synchronize().expect("sync");
    // 1,000 floats: a size class no other test here uses.
    let mut acc = Tensor::full(&[1000], 3.0);
    let mut expected = vec![3.0f32; 1000];
    let before = rt.pool_stats();
    // 40 iterations of two dispatches stay in one pending batch on Vulkan
    // (at most 256 dispatches). Each drops the intermediate and the last
    // `acc` right after recording their readers, so three buffers serve
    // the whole loop; waiting for submissions instead would take 80.
    for _ in 0..40 {
        acc = &(&acc + 1.0) * 0.5;
        for e in &mut expected {
            *e = (*e + 1.0) * 0.5;
        }
    }
    let created = rt.pool_stats().allocations - before.allocations;
    assert!(created <= 3, "the loop created {created} buffers");
    assert_eq!(acc.to_vec::<f32>().expect("read acc"), expected);
}

#[test]
fn an_upload_never_takes_a_buffer_the_pending_batch_still_uses() {
    let _turn = serial();
    let rt = runtime().expect("device");
    rt.synchronize().expect("sync");
    // 777 floats: a size class no other test here uses, so the upload
    // below finds no free buffer, only `a`'s.
    let n = 777;
    let x = Tensor::full(&[n], 1.0);
    let a = &x + 1.0;
    let b = &a * 3.0;
    // `a`'s buffer is written and read by the pending batch. The upload's
    // `queue.write_buffer` runs before that batch, whose write of `a`
    // would then overwrite the uploaded values if it shared the buffer.
    drop(a);
    let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let uploaded = Tensor::from_slice(&data, &[n]);
    assert_eq!(uploaded.to_vec::<f32>().expect("read upload"), data);
    assert_eq!(b.to_vec::<f32>().expect("read b"), vec![6.0; n]);
}

#[test]
fn uploads_in_a_loop_that_never_reads_back_reuse_their_buffers() {
    let _turn = serial();
    let rt = runtime().expect("device");
    rt.synchronize().expect("sync");
    // 1,500 floats: a size class no other test here uses.
    let n = 1500;
    let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let mut total = Tensor::zeros(&[n]);
    let before = rt.pool_stats();
    // Each upload finds the buffers released so far held by the pending
    // batch only, as nothing reads back: it submits that batch and waits
    // for it rather than creating a buffer for each of the 20 uploads.
    for _ in 0..20 {
        let batch = Tensor::from_slice(&data, &[n]);
        total = &total + &batch;
    }
    let created = rt.pool_stats().allocations - before.allocations;
    assert!(created <= 3, "the loop created {created} buffers");
    let want: Vec<f32> = data.iter().map(|v| v * 20.0).collect();
    assert_eq!(total.to_vec::<f32>().expect("read total"), want);
}

#[test]
fn empty_cache_returns_every_buffer_no_tensor_holds() {
    let _turn = serial();
    let rt = runtime().expect("device");
    // Kernel outputs and uploads, some released while their work is
    // still queued: after `empty_cache` the pool holds only what live
    // tensors use.
    let kept = Tensor::from_slice(&[1.0f32; 300], &[300]);
    for _ in 0..10 {
        let up = Tensor::from_slice(&[2.0f32; 5000], &[5000]);
        let _out = (&up * 3.0).exp();
    }
    rt.empty_cache().expect("empty_cache");
    let stats = rt.pool_stats();
    assert_eq!(stats.allocated_bytes, stats.in_use_bytes, "{stats:?}");
    assert!(stats.in_use_bytes > 0, "`kept` is still held: {stats:?}");
    drop(kept);
}
