//! `#[derive(Module)]` and hand-written `Module` impls: names, parameters,
//! children, training mode, `zero_grad`.

use wgrad_autograd::Tensor;
use wgrad_nn::{
    Conv2d, Dropout, Forward, Linear, Module, Parameter, ReLU, Sequential, Training,
    functional as F, sequential,
};

use crate::common::{assert_close, host, linear_cpu, tensor};

/// The tutorial's LeNet.
#[derive(Module)]
pub struct Net {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub fc1: Linear,
    pub fc2: Linear,
    pub fc3: Linear,
}

impl Net {
    pub fn new() -> Net {
        Net {
            conv1: Conv2d::new(1, 6, 5),
            conv2: Conv2d::new(6, 16, 5),
            fc1: Linear::new(16 * 5 * 5, 120),
            fc2: Linear::new(120, 84),
            fc3: Linear::new(84, 10),
        }
    }
}

impl Forward for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = F::max_pool2d(&F::relu(&self.conv1.forward(x)), (2, 2));
        let x = F::max_pool2d(&F::relu(&self.conv2.forward(&x)), 2);
        let x = x.flatten(1, -1);
        let x = F::relu(&self.fc1.forward(&x));
        let x = F::relu(&self.fc2.forward(&x));
        self.fc3.forward(&x)
    }
}

#[test]
fn lenet_has_ten_parameter_tensors_named_as_in_pytorch() {
    let net = Net::new();
    let params = net.parameters();
    assert_eq!(params.len(), 10);
    assert_eq!(params[0].shape(), &[6, 1, 5, 5]); // conv1's .weight
    let names: Vec<String> = net.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias"
        ]
    );
    let children: Vec<String> = net.named_children().into_iter().map(|(k, _)| k).collect();
    assert_eq!(children, ["conv1", "conv2", "fc1", "fc2", "fc3"]);
    assert!(params.iter().all(|p| p.requires_grad() && p.is_leaf()));
}

#[test]
fn lenet_maps_a_32_by_32_image_to_ten_outputs_and_backpropagates() {
    let net = Net::new();
    let out = net.forward(&Tensor::randn(&[1, 1, 32, 32]));
    assert_eq!(out.shape(), &[1, 10]);
    net.zero_grad();
    out.backward_with(&Tensor::randn(&[1, 10])).unwrap();
    assert!(net.parameters().iter().all(|p| p.grad().is_some()));
}

#[test]
fn zero_grad_sets_gradients_to_none_or_zeroes_them_in_place() {
    let net = Net::new();
    net.forward(&Tensor::randn(&[2, 1, 32, 32]))
        .sum()
        .backward()
        .unwrap();
    let bias = net.conv1.bias.as_ref().unwrap();
    assert!(bias.grad().is_some());
    // PyTorch 1's zero_grad(): the tutorial prints conv1.bias.grad as zeros.
    net.zero_grad_with(false);
    assert_eq!(host(&bias.grad().unwrap()), vec![0.0; 6]);
    // PyTorch 2's default, set_to_none=True.
    net.zero_grad();
    assert!(net.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn train_and_eval_reach_every_descendant() {
    let model = sequential![
        Linear::new(4, 4),
        Dropout::new(0.5),
        sequential![Dropout::new(0.2)]
    ];
    assert!(model.is_training());
    model.eval();
    assert!(!model.is_training());
    assert!(!model[1].is_training() && !model[2].is_training());
    assert!(!model.get::<Sequential>(2).unwrap()[0].is_training());
    // In eval mode the whole model is deterministic.
    let x = tensor(&[3, 4], 50);
    assert_close(
        "eval",
        &host(&model.forward(&x)),
        &host(&model.forward(&x)),
        0.0,
    );
    model.train();
    assert!(model[1].is_training() && model.get::<Sequential>(2).unwrap()[0].is_training());
}

/// The tutorial's `Mnist_Logistic`: parameters as fields, no children.
#[derive(Module)]
struct MnistLogistic {
    weights: Parameter,
    bias: Parameter,
}

impl Forward for MnistLogistic {
    fn forward(&self, xb: &Tensor) -> Tensor {
        xb.matmul(&self.weights) + &self.bias
    }
}

#[test]
fn parameter_fields_are_registered_under_their_names() {
    let model = MnistLogistic {
        weights: Parameter::new(&Tensor::randn(&[784, 10]) / 784f32.sqrt()),
        bias: Parameter::new(Tensor::zeros(&[10])),
    };
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["weights", "bias"]);
    assert!(model.weights.requires_grad() && model.weights.is_leaf());
    assert_eq!(model.to_string(), "MnistLogistic()");
    let x = tensor(&[2, 784], 51);
    let w_t: Vec<f32> = {
        let w = host(&model.weights);
        (0..10)
            .flat_map(|o| (0..784).map(move |i| (o, i)))
            .map(|(o, i)| w[i * 10 + o])
            .collect()
    };
    let want = linear_cpu(&host(&x), &w_t, None, 2, 784, 10);
    assert_close(
        "xb @ weights + bias",
        &host(&model.forward(&x)),
        &want,
        1e-4,
    );
}

/// Every kind of field the derive knows.
#[derive(Module)]
#[module(name = "Block")]
struct Everything {
    scale: Parameter,
    #[param]
    shift: Tensor,
    #[buffer]
    running_mean: Tensor,
    body: Sequential,
    head: Option<Linear>,
    tail: Option<Linear>,
    act: ReLU,
    training: Training,
    #[module(skip)]
    #[allow(dead_code)]
    note: String,
}

fn everything() -> Everything {
    Everything {
        scale: Parameter::new(Tensor::ones(&[3])),
        shift: Tensor::zeros(&[3]).with_grad(),
        running_mean: Tensor::zeros(&[3]),
        body: sequential![Linear::new(3, 3)],
        head: Some(Linear::new(3, 2)),
        tail: None,
        act: ReLU::new(),
        training: Training::new(),
        note: "not a module".into(),
    }
}

#[test]
fn derive_registers_parameters_buffers_children_and_skips_marked_fields() {
    let m = everything();
    let params: Vec<String> = m.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        params,
        [
            "scale",
            "shift",
            "body.0.weight",
            "body.0.bias",
            "head.weight",
            "head.bias"
        ]
    );
    let buffers: Vec<String> = m.named_buffers().into_iter().map(|(k, _)| k).collect();
    assert_eq!(buffers, ["running_mean"]);
    let state: Vec<String> = m.state_dict().keys().map(String::from).collect();
    assert_eq!(state[..3], ["scale", "shift", "running_mean"]);
    let children: Vec<String> = m.named_children().into_iter().map(|(k, _)| k).collect();
    assert_eq!(children, ["body", "head", "act"]);
    m.eval();
    assert!(!m.is_training() && !m.training.get() && !m.act.is_training());
    assert_eq!(
        m.to_string(),
        "Block(\n  (body): Sequential(\n    (0): Linear(in_features=3, out_features=3, bias=True)\n  )\n  \
         (head): Linear(in_features=3, out_features=2, bias=True)\n  (act): ReLU()\n)"
    );
}

#[test]
fn a_derived_module_without_a_training_field_reports_its_childrens_mode() {
    let net = Net::new();
    assert!(net.is_training());
    net.eval();
    assert!(!net.is_training() && !net.fc3.is_training());
}

/// A module written by hand: a linear layer whose weight is shared by the
/// two halves of a tied autoencoder.
struct Tied {
    enc: Linear,
    dec_bias: Parameter,
    training: Training,
}

impl Module for Tied {
    fn type_name(&self) -> &str {
        "Tied"
    }

    fn extra_repr(&self) -> String {
        "tied=True".into()
    }

    fn own_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("dec_bias".into(), self.dec_bias.tensor().clone())]
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![("enc".into(), &self.enc)]
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Tied {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.enc.forward(x).relu();
        F::linear(&h, &self.enc.weight.t(), Some(&self.dec_bias))
    }
}

#[test]
fn hand_written_modules_get_names_printing_and_state_dict_for_free() {
    let m = Tied {
        enc: Linear::new(4, 2),
        dec_bias: Parameter::new(Tensor::zeros(&[4])),
        training: Training::new(),
    };
    let names: Vec<String> = m.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["dec_bias", "enc.weight", "enc.bias"]);
    assert_eq!(
        (&m as &dyn Module).to_string(),
        "Tied(\n  tied=True\n  (enc): Linear(in_features=4, out_features=2, bias=True)\n)"
    );
    assert_eq!(m.forward(&tensor(&[3, 4], 52)).shape(), &[3, 4]);
    m.eval();
    assert!(!m.enc.is_training());
    assert_eq!(m.state_dict().len(), 3);
}

/// Two fields holding one parameter (weight tying).
#[derive(Module)]
struct Shared {
    a: Parameter,
    b: Parameter,
}

#[test]
fn a_parameter_reachable_twice_is_listed_once() {
    let a = Parameter::new(Tensor::ones(&[2]));
    let model = Shared { b: a.clone(), a };
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["a"]);
    // The state dict keeps both keys, as PyTorch's does.
    let state = model.state_dict();
    assert_eq!(state.keys().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn updating_parameters_in_place_under_no_grad_changes_the_model() {
    // The tutorial's manual step: for f in net.parameters(): f.data.sub_(f.grad * lr).
    let lin = Linear::new(3, 1);
    let (x, target) = (tensor(&[8, 3], 53), tensor(&[8, 1], 54));
    let loss = |m: &Linear| F::mse_loss(&m.forward(&x), &target);
    let before = loss(&lin).item().unwrap();
    for _ in 0..20 {
        lin.zero_grad();
        loss(&lin).backward().unwrap();
        wgrad_autograd::no_grad(|| {
            for p in lin.parameters() {
                p.sub_(&(&p.grad().unwrap() * 0.1));
            }
        });
    }
    let after = loss(&lin).item().unwrap();
    // Gradient descent with a small step on a convex loss can only go down.
    assert!(after < before, "loss {before} -> {after}");
}
