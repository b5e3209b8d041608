//! `print(model)`: PyTorch's exact layout for the tutorials' models.

use wgrad_autograd::Tensor;
use wgrad_nn::{
    AvgPool2d, Conv2d, Dropout, Flatten, Forward, Lambda, Linear, MaxPool2d, Module, ReLU,
    Sequential, sequential,
};

use crate::derive::Net;

#[test]
fn lenet_prints_exactly_as_pytorch_prints_it() {
    let want = "\
Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)";
    let net = Net::new();
    assert_eq!(net.to_string(), want);
    assert_eq!(format!("{net:?}"), want);
    assert_eq!((&net as &dyn Module).to_string(), want);
}

fn preprocess(x: &Tensor) -> Tensor {
    x.view(&[-1, 1, 28, 28])
}

/// The tutorial's `nn.Sequential` CNN with `Lambda` layers.
fn mnist_cnn() -> Sequential {
    sequential![
        Lambda::new(preprocess),
        Conv2d::builder(1, 16, 3).stride(2).padding(1).build(),
        ReLU::new(),
        Conv2d::builder(16, 16, 3).stride(2).padding(1).build(),
        ReLU::new(),
        Conv2d::builder(16, 10, 3).stride(2).padding(1).build(),
        ReLU::new(),
        AvgPool2d::new(4),
        Lambda::new(|x| x.view(&[x.size(0) as isize, -1])),
    ]
}

#[test]
fn sequential_with_lambdas_prints_numbered_children() {
    let want = "\
Sequential(
  (0): Lambda()
  (1): Conv2d(1, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
  (2): ReLU()
  (3): Conv2d(16, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
  (4): ReLU()
  (5): Conv2d(16, 10, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
  (6): ReLU()
  (7): AvgPool2d(kernel_size=4, stride=4, padding=0)
  (8): Lambda()
)";
    let model = mnist_cnn();
    assert_eq!(model.to_string(), want);
    assert_eq!(model.len(), 9);
    assert_eq!(
        model[7].to_string(),
        "AvgPool2d(kernel_size=4, stride=4, padding=0)"
    );
    // The Lambdas reshape flat images in and the [n, 10, 1, 1] map out.
    let out = model.forward(&Tensor::rand(&[3, 784]));
    assert_eq!(out.shape(), &[3, 10]);
}

#[test]
fn sequential_parameters_are_named_by_position() {
    let model = mnist_cnn();
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        [
            "1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"
        ]
    );
    let mlp = sequential![Linear::new(4, 3), ReLU::new(), Linear::new(3, 2)];
    let names: Vec<String> = mlp.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    let first = mlp.get::<Linear>(0).unwrap();
    assert_eq!(first.weight.shape(), &[3, 4]);
    assert!(mlp.get::<Linear>(1).is_none());
}

#[test]
fn nested_containers_indent_by_two_spaces_per_level() {
    let model = sequential![
        sequential![Conv2d::new(1, 4, 3), ReLU::new(), MaxPool2d::new(2)],
        Flatten::new(),
        Dropout::new(0.5),
        Linear::new(4, 2),
    ];
    let want = "\
Sequential(
  (0): Sequential(
    (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
    (1): ReLU()
    (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  )
  (1): Flatten(start_dim=1, end_dim=-1)
  (2): Dropout(p=0.5, inplace=False)
  (3): Linear(in_features=4, out_features=2, bias=True)
)";
    assert_eq!(model.to_string(), want);
    assert_eq!(Sequential::new().to_string(), "Sequential()");
}
