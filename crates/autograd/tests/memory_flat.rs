//! A training loop holds flat memory: every saved tensor and intermediate
//! gradient is released by the end of each backward.
//!
//! Its own test binary: the pool's statistics are process-wide.

use wgrad_autograd::{Tensor, no_grad};
use wgrad_tensor::runtime;

#[test]
fn a_thousand_mlp_training_steps_keep_bytes_in_use_flat() {
    wgrad_tensor::manual_seed(3);
    let x = Tensor::randn(&[32, 20]);
    let target = Tensor::from_slice(&(0..32).map(|i| i % 10).collect::<Vec<i32>>(), &[32]);
    let w1 = (Tensor::randn(&[64, 20]) * 0.1).detach().with_grad();
    let b1 = Tensor::zeros(&[64]).with_grad();
    let w2 = (Tensor::randn(&[10, 64]) * 0.1).detach().with_grad();
    let params = [&w1, &b1, &w2];
    let step = || {
        let h = (&x.matmul(&w1.t()) + &b1).relu();
        let loss = h.matmul(&w2.t()).cross_entropy(&target);
        loss.backward().expect("backward");
        no_grad(|| {
            for p in params {
                let g = p.grad().expect("every parameter gets a gradient");
                p.sub_(&(&g * 0.05));
                p.set_grad(None);
            }
        });
        loss
    };
    let rt = runtime().expect("device");
    let first = step().item().unwrap();
    let in_use = rt.pool_stats().in_use_bytes;
    let mut last = first;
    for i in 0..1000 {
        let loss = step();
        if i % 100 == 99 {
            last = loss.item().unwrap();
        }
        drop(loss);
        assert_eq!(
            rt.pool_stats().in_use_bytes,
            in_use,
            "iteration {i}: bytes in use grew"
        );
    }
    rt.synchronize().unwrap();
    let stats = rt.pool_stats();
    assert!(
        stats.allocated_bytes < 4 * stats.peak_in_use_bytes + (1 << 20),
        "pool holds {stats:?}"
    );
    assert!(
        last < first,
        "training reduced the loss from {first} to {last}"
    );
}
