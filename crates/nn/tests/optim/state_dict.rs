//! `state_dict()` / `load_state_dict()`: PyTorch's names, copies, a round
//! trip that continues identically, and refusals that change nothing.

use std::collections::BTreeMap;

use wgrad_autograd::Tensor;
use wgrad_nn::optim::{
    Adam, AdamW, HyperParam, OptimError, Optimizer, OptimizerState, RMSprop, SGD, load_optimizer,
    save_optimizer,
};

use crate::common::{THETA0, grad_at, param, read};

/// Each optimizer with its stateful options on, built by `make(params, lr)`.
type Make = fn(Vec<Tensor>, f64) -> Box<dyn Optimizer>;

fn makers() -> [(&'static str, Make); 4] {
    [
        ("SGD", |p, lr| {
            Box::new(SGD::new(p, lr).momentum(0.9).nesterov(true))
        }),
        ("Adam", |p, lr| {
            Box::new(Adam::new(p, lr).amsgrad(true).betas((0.8, 0.9)))
        }),
        ("AdamW", |p, lr| {
            Box::new(AdamW::new(p, lr).weight_decay(0.1))
        }),
        ("RMSprop", |p, lr| {
            Box::new(RMSprop::new(p, lr).centered(true).momentum(0.5))
        }),
    ]
}

fn step_with(opt: &mut dyn Optimizer, p: &Tensor, t: usize) {
    p.set_grad(Some(&Tensor::from_vec(grad_at(t))));
    opt.step().expect("step");
}

/// The state's buffers read back, for exact comparison.
fn buffers(sd: &OptimizerState) -> BTreeMap<(usize, String), Vec<f32>> {
    sd.state
        .iter()
        .flat_map(|(&i, named)| named.iter().map(move |(k, t)| ((i, k.clone()), read(t))))
        .collect()
}

#[test]
fn every_optimizer_continues_identically_after_a_state_dict_round_trip() {
    for (name, make) in makers() {
        let a = param();
        let mut opt_a = make(vec![a.clone()], 0.05);
        step_with(opt_a.as_mut(), &a, 0);
        step_with(opt_a.as_mut(), &a, 1);
        let saved = opt_a.state_dict();

        // A fresh optimizer with another learning rate takes everything from the dict.
        let b = Tensor::from_slice(&read(&a), &[THETA0.len()]).with_grad();
        let mut opt_b = make(vec![b.clone()], 0.5);
        opt_b.load_state_dict(&saved).expect("load_state_dict");
        assert_eq!(opt_b.lr(), 0.05, "{name}: the saved lr is loaded");

        step_with(opt_a.as_mut(), &a, 2);
        step_with(opt_b.as_mut(), &b, 2);
        assert_eq!(
            read(&a),
            read(&b),
            "{name}: parameters after the third step"
        );
        let (sa, sb) = (opt_a.state_dict(), opt_b.state_dict());
        assert_eq!(
            buffers(&sa),
            buffers(&sb),
            "{name}: state after the third step"
        );
        assert_eq!(sa.param_group, sb.param_group, "{name}: hyper-parameters");
    }
}

#[test]
fn state_dict_uses_pytorchs_names_and_holds_copies() {
    let p = param();
    let mut opt = Adam::new(vec![p.clone()], 0.1).amsgrad(true);
    step_with(&mut opt, &p, 0);
    step_with(&mut opt, &p, 1);
    let sd = opt.state_dict();
    assert_eq!(sd.num_params, 1);
    let keys: Vec<&str> = sd.state[&0].keys().map(String::as_str).collect();
    assert_eq!(keys, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]);
    let step = &sd.state[&0]["step"];
    assert_eq!((step.shape(), step.item().expect("step")), (&[][..], 2.0));
    let before = read(&sd.state[&0]["exp_avg"]);
    step_with(&mut opt, &p, 2);
    assert_eq!(
        read(&sd.state[&0]["exp_avg"]),
        before,
        "a later step does not reach the dict"
    );
}

#[test]
fn sgd_without_momentum_keeps_no_state_as_pytorch() {
    let p = param();
    let mut opt = SGD::new(vec![p.clone()], 0.1);
    step_with(&mut opt, &p, 0);
    let sd = opt.state_dict();
    assert!(sd.state.is_empty(), "state for {:?}", sd.state.keys());
    assert_eq!(sd.param_group["nesterov"], HyperParam::Bool(false));
}

/// A saved Adam state after one step, for the refusals to corrupt.
fn saved_adam() -> OptimizerState {
    let p = param();
    let mut opt = Adam::new(vec![p.clone()], 0.1);
    step_with(&mut opt, &p, 0);
    opt.state_dict()
}

/// A change that makes a saved state unloadable.
type Corrupt = fn(&mut OptimizerState);

#[test]
fn load_state_dict_refuses_a_mismatched_state_and_changes_nothing() {
    let corrupt: [(&str, Corrupt); 7] = [
        ("parameter count", |sd| sd.num_params = 2),
        ("buffer shape", |sd| {
            sd.state
                .get_mut(&0)
                .unwrap()
                .insert("exp_avg".into(), Tensor::zeros(&[2, 3]));
        }),
        ("missing buffer", |sd| {
            sd.state.get_mut(&0).unwrap().remove("exp_avg_sq");
        }),
        ("unknown buffer", |sd| {
            sd.state
                .get_mut(&0)
                .unwrap()
                .insert("momentum".into(), Tensor::zeros(&[5]));
        }),
        ("fractional step", |sd| {
            sd.state
                .get_mut(&0)
                .unwrap()
                .insert("step".into(), Tensor::scalar(1.5));
        }),
        ("hyper-parameter kind", |sd| {
            sd.param_group
                .insert("betas".into(), HyperParam::Float(0.9));
        }),
        ("missing hyper-parameter", |sd| {
            sd.param_group.remove("eps");
        }),
    ];
    for (what, f) in corrupt {
        let mut sd = saved_adam();
        sd.param_group.insert("lr".into(), HyperParam::Float(0.7));
        f(&mut sd);
        let p = param();
        let mut opt = Adam::new(vec![p.clone()], 0.1);
        let err = opt.load_state_dict(&sd).expect_err(what);
        let expected = match what {
            "parameter count" => matches!(
                err,
                OptimError::ParamCount {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "buffer shape" => {
                matches!(&err, OptimError::StateShape { key, .. } if key == "exp_avg")
            }
            "missing buffer" => {
                matches!(&err, OptimError::MissingState { key, .. } if key == "exp_avg_sq")
            }
            "unknown buffer" => {
                matches!(&err, OptimError::UnexpectedState { key, .. } if key == "momentum")
            }
            "fractional step" => matches!(err, OptimError::BadStep { value: 1.5, .. }),
            "hyper-parameter kind" => {
                matches!(err, OptimError::HyperParameterType { key: "betas", .. })
            }
            _ => matches!(err, OptimError::MissingHyperParameter { key: "eps", .. }),
        };
        assert!(expected, "{what}: {err:?}");
        assert_eq!(opt.lr(), 0.1, "{what}: the lr is not replaced");
        assert!(
            opt.state_dict().state.is_empty(),
            "{what}: no state is loaded"
        );
    }
}

#[test]
fn every_optimizer_continues_identically_after_a_safetensors_round_trip() {
    let dir = std::env::temp_dir().join(format!("wgrad-optim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, make) in makers() {
        let path = dir.join(format!("{name}.safetensors"));
        let a = param();
        let mut opt_a = make(vec![a.clone()], 0.05);
        step_with(opt_a.as_mut(), &a, 0);
        step_with(opt_a.as_mut(), &a, 1);
        save_optimizer(opt_a.as_ref(), &path).expect("save_optimizer");

        let b = Tensor::from_slice(&read(&a), &[THETA0.len()]).with_grad();
        let mut opt_b = make(vec![b.clone()], 0.5);
        load_optimizer(opt_b.as_mut(), &path).expect("load_optimizer");
        assert_eq!(
            opt_b.lr(),
            0.05,
            "{name}: the saved lr (an f64) comes back exactly"
        );
        step_with(opt_a.as_mut(), &a, 2);
        step_with(opt_b.as_mut(), &b, 2);
        assert_eq!(
            read(&a),
            read(&b),
            "{name}: the third step differs after reloading"
        );
    }
    // A model checkpoint is not an optimizer state: a clear error naming the file.
    let model_file = dir.join("model.safetensors");
    let mut sd = wgrad_nn::StateDict::new();
    sd.insert("fc.weight", Tensor::ones(&[2, 2]));
    wgrad_nn::save_safetensors(&sd, &model_file).unwrap();
    let (_, make) = &makers()[1];
    let mut opt = make(vec![param()], 0.1);
    let e = load_optimizer(opt.as_mut(), &model_file)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("num_params"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
