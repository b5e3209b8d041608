//! AB-EXPERIMENT (temporary): the previous and the new subgroup matmul
//! kernels, alternated call batch by call batch in one process:
//! `cargo xtask ab [ROUNDS [NAME_PREFIX]]`.
use std::sync::atomic::Ordering;
use std::time::Instant;
use wgrad_tensor::Tensor;
use wgrad_tensor::ops::matmul::AB_OLD;

pub fn run(args: &[String]) -> Result<(), String> {
    let rt = wgrad_tensor::runtime().map_err(|e| e.to_string())?;
    let rounds: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(15);
    let mk = |s: &[usize]| Tensor::rand(s);
    let x784 = mk(&[64, 784]);
    let w784 = mk(&[10, 784]);
    let g64 = mk(&[64, 10]);
    let x256 = mk(&[1000, 256]);
    let w256 = mk(&[10, 256]);
    let x50 = mk(&[50, 256]);
    let g50 = mk(&[50, 10]);
    let a1024 = mk(&[1024, 1024]);
    let b1024 = mk(&[1024, 1024]);
    let a256 = mk(&[256, 256]);
    let b256 = mk(&[256, 256]);
    let x64 = mk(&[64, 784]);
    let w512 = mk(&[512, 784]);
    let a17 = mk(&[17, 784]);
    let b3000 = mk(&[784, 3000]);
    let x1024 = mk(&[1024, 256]);
    let w32 = mk(&[32, 256]);
    let a32 = mk(&[32, 512]);
    let b2048 = mk(&[512, 2048]);
    let a48 = mk(&[48, 512]);
    let only: Option<&str> = args.get(1).map(String::as_str);
    type Case<'a> = (&'static str, usize, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        ("r17_3000", 20, Box::new(|| drop(a17.matmul(&b3000)))),
        ("r1024_w32t", 20, Box::new(|| drop(x1024.matmul(&w32.t())))),
        ("r32_2048", 20, Box::new(|| drop(a32.matmul(&b2048)))),
        ("r48_2048", 20, Box::new(|| drop(a48.matmul(&b2048)))),
        ("w1_1024", 2, Box::new(|| drop(a1024.matmul(&b1024)))),
        ("w1_256", 40, Box::new(|| drop(a256.matmul(&b256)))),
        ("mlp_784_512", 40, Box::new(|| drop(x64.matmul(&w512.t())))),
        ("w2_fwd", 100, Box::new(|| drop(x784.matmul(&w784.t())))),
        ("w2_dw", 100, Box::new(|| drop(g64.t().matmul(&x784)))),
        ("w5_fwd", 50, Box::new(|| drop(x256.matmul(&w256.t())))),
        ("w4_fwd", 100, Box::new(|| drop(x50.matmul(&w256.t())))),
        ("w4_dx", 100, Box::new(|| drop(g50.matmul(&w256)))),
        ("w4_dw", 100, Box::new(|| drop(g50.t().matmul(&x50)))),
    ];
    for (name, calls, f) in &cases {
        if only.is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        for old in [true, false] {
            AB_OLD.store(old, Ordering::Relaxed);
            for _ in 0..3 {
                f();
            }
            rt.synchronize().map_err(|e| e.to_string())?;
        }
        let mut t = [Vec::new(), Vec::new()];
        for r in 0..rounds {
            let order = if r % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for old in order {
                AB_OLD.store(old, Ordering::Relaxed);
                let s = Instant::now();
                for _ in 0..*calls {
                    f();
                }
                rt.synchronize().map_err(|e| e.to_string())?;
                t[usize::from(old)].push(s.elapsed().as_secs_f64() / *calls as f64);
            }
        }
        let wins = t[0].iter().zip(&t[1]).filter(|(n, o)| n < o).count();
        let mut ratios: Vec<f64> = t[0].iter().zip(&t[1]).map(|(n, o)| o / n).collect();
        ratios.sort_by(f64::total_cmp);
        let med = |v: &Vec<f64>| {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e6
        };
        println!(
            "{name:<12} new faster in {wins}/{rounds}, median old/new {:.3}, per call new {:.0} us old {:.0} us",
            ratios[ratios.len() / 2],
            med(&t[0]),
            med(&t[1])
        );
    }
    AB_OLD.store(false, Ordering::Relaxed);
    Ok(())
}
