//! `nn.Sequential` and the tutorial's `Lambda`.

use std::any::Any;
use std::ops::Index;

use wgrad_autograd::Tensor;

use super::impl_fmt_as_repr;
use super::{Conv2d, ReLU};
use crate::module::{Forward, Module, Training};

/// `nn.Sequential(...)`: modules applied in order. Children are named
/// `0`, `1`, ..., so parameters are `0.weight`, `2.bias`, ...
///
/// ```no_run
/// use wgrad_nn::{Conv2d, Lambda, ReLU, sequential};
/// let model = sequential![
///     Lambda::new(|x| x.view(&[-1, 1, 28, 28])),
///     Conv2d::builder(1, 16, 3).stride(2).padding(1).build(),
///     ReLU::new(),
/// ];
/// println!("{model}");
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Forward>>,
    training: Training,
}

impl Sequential {
    /// An empty `Sequential`.
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a module (PyTorch's `append`).
    pub fn push(&mut self, module: impl Forward) -> &mut Sequential {
        self.layers.push(Box::new(module));
        self
    }

    /// Appends a boxed module.
    pub fn push_boxed(&mut self, module: Box<dyn Forward>) -> &mut Sequential {
        self.layers.push(module);
        self
    }

    /// The number of modules (`len(seq)`).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The modules in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Forward> {
        self.layers.iter().map(|m| &**m)
    }

    /// Module `i` as its concrete type (`seq[0].weight` in PyTorch is
    /// `seq.get::<Linear>(0).unwrap().weight`); `None` if out of range or
    /// of another type.
    pub fn get<T: Module>(&self, i: usize) -> Option<&T> {
        let m: &dyn Any = &**self.layers.get(i)?;
        m.downcast_ref::<T>()
    }
}

impl From<Vec<Box<dyn Forward>>> for Sequential {
    fn from(layers: Vec<Box<dyn Forward>>) -> Sequential {
        Sequential {
            layers,
            training: Training::new(),
        }
    }
}

impl Index<usize> for Sequential {
    type Output = dyn Forward;

    /// `seq[i]`.
    ///
    /// # Panics
    /// If `i` is out of range.
    fn index(&self, i: usize) -> &dyn Forward {
        &*self.layers[i]
    }
}

impl Module for Sequential {
    fn type_name(&self) -> &str {
        "Sequential"
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, m)| (i.to_string(), &**m as &dyn Module))
            .collect()
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Sequential {
    /// Each module's output is the next one's input. A `Conv2d` directly
    /// followed by a `ReLU` runs as one fused pass
    /// ([`Conv2d::forward_relu`]), with the same values and graph.
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut x = x.clone();
        let mut i = 0;
        while i < self.layers.len() {
            if let (Some(conv), Some(_)) = (self.get::<Conv2d>(i), self.get::<ReLU>(i + 1)) {
                x = conv.forward_relu(&x);
                i += 2;
            } else {
                x = self.layers[i].forward(&x);
                i += 1;
            }
        }
        x
    }
}

/// Builds a [`Sequential`] from modules: `sequential![a, b, c]` is
/// `nn.Sequential(a, b, c)`.
#[macro_export]
macro_rules! sequential {
    ($($module:expr),* $(,)?) => {{
        let mut seq = $crate::Sequential::new();
        $( seq.push($module); )*
        seq
    }};
}

/// A module made from a function (the tutorial's `Lambda(preprocess)`),
/// printed `Lambda()`: reshapes and other glue inside a [`Sequential`].
pub struct Lambda {
    func: Box<dyn Fn(&Tensor) -> Tensor>,
    training: Training,
}

impl Lambda {
    /// Wraps `func`.
    pub fn new(func: impl Fn(&Tensor) -> Tensor + 'static) -> Lambda {
        Lambda {
            func: Box::new(func),
            training: Training::new(),
        }
    }
}

impl Module for Lambda {
    fn type_name(&self) -> &str {
        "Lambda"
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Lambda {
    fn forward(&self, x: &Tensor) -> Tensor {
        (self.func)(x)
    }
}

impl_fmt_as_repr!(Sequential, Lambda);
