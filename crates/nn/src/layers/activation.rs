//! Layers without parameters: activations, `Softmax`/`LogSoftmax`,
//! `Flatten`, `Identity`.

use wgrad_autograd::Tensor;

use super::impl_fmt_as_repr;
use crate::module::{Forward, Module, Training};

/// A parameterless layer: a struct with a training flag and the given
/// fields, its `Module` impl (name and `extra_repr`) and `Forward`.
macro_rules! simple_layer {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* }
        repr($s:ident) $repr:block
        forward($self_:ident, $x:ident) $fwd:block
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
            training: Training,
        }

        impl Module for $name {
            fn type_name(&self) -> &str {
                stringify!($name)
            }

            fn extra_repr(&self) -> String {
                let $s = self;
                let _ = $s;
                $repr
            }

            fn training_flag(&self) -> Option<&Training> {
                Some(&self.training)
            }
        }

        impl Forward for $name {
            fn forward(&$self_, $x: &Tensor) -> Tensor $fwd
        }

        impl_fmt_as_repr!($name);
    };
}

simple_layer! {
    /// `nn.ReLU()`: `max(x, 0)`, gradient 0 at 0.
    ReLU {}
    repr(_s) { String::new() }
    forward(self, x) { x.relu() }
}

simple_layer! {
    /// `nn.Sigmoid()`.
    Sigmoid {}
    repr(_s) { String::new() }
    forward(self, x) { x.sigmoid() }
}

simple_layer! {
    /// `nn.Tanh()`.
    Tanh {}
    repr(_s) { String::new() }
    forward(self, x) { x.tanh() }
}

simple_layer! {
    /// `nn.Identity()`: returns its input.
    Identity {}
    repr(_s) { String::new() }
    forward(self, x) { x.clone() }
}

simple_layer! {
    /// `nn.Softmax(dim)`.
    Softmax {
        /// The dimension that sums to 1.
        dim: isize
    }
    repr(s) { format!("dim={}", s.dim) }
    forward(self, x) { x.softmax(self.dim) }
}

simple_layer! {
    /// `nn.LogSoftmax(dim)`.
    LogSoftmax {
        /// The dimension normalised over.
        dim: isize
    }
    repr(s) { format!("dim={}", s.dim) }
    forward(self, x) { x.log_softmax(self.dim) }
}

simple_layer! {
    /// `nn.Flatten(start_dim=1, end_dim=-1)`: keeps the batch dimension.
    Flatten {
        /// First dimension flattened.
        start_dim: isize,
        /// Last dimension flattened.
        end_dim: isize
    }
    repr(s) { format!("start_dim={}, end_dim={}", s.start_dim, s.end_dim) }
    forward(self, x) { x.flatten(self.start_dim, self.end_dim) }
}

impl ReLU {
    /// `nn.ReLU()`.
    pub fn new() -> ReLU {
        ReLU {
            training: Training::new(),
        }
    }
}

impl Sigmoid {
    /// `nn.Sigmoid()`.
    pub fn new() -> Sigmoid {
        Sigmoid {
            training: Training::new(),
        }
    }
}

impl Tanh {
    /// `nn.Tanh()`.
    pub fn new() -> Tanh {
        Tanh {
            training: Training::new(),
        }
    }
}

impl Identity {
    /// `nn.Identity()`.
    pub fn new() -> Identity {
        Identity {
            training: Training::new(),
        }
    }
}

impl Softmax {
    /// `nn.Softmax(dim)`.
    pub fn new(dim: isize) -> Softmax {
        Softmax {
            dim,
            training: Training::new(),
        }
    }
}

impl LogSoftmax {
    /// `nn.LogSoftmax(dim)`.
    pub fn new(dim: isize) -> LogSoftmax {
        LogSoftmax {
            dim,
            training: Training::new(),
        }
    }
}

impl Flatten {
    /// `nn.Flatten()`: dimensions 1 to -1.
    pub fn new() -> Flatten {
        Flatten::with_dims(1, -1)
    }

    /// `nn.Flatten(start_dim, end_dim)`.
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Flatten {
        Flatten {
            start_dim,
            end_dim,
            training: Training::new(),
        }
    }
}

macro_rules! default_via_new {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                <$t>::new()
            }
        }
    )*};
}

default_via_new!(ReLU, Sigmoid, Tanh, Identity, Flatten);
