//! Every WGSL file wgrad dispatches, embedded at build time. `cargo xtask
//! validate` checks the same files with naga.

use crate::runtime::Shader;

macro_rules! shader {
    ($ident:ident, $file:literal) => {
        #[doc = concat!("`shaders/", $file, "`")]
        pub static $ident: Shader = Shader {
            name: $file,
            source: include_str!(concat!("../../../shaders/", $file)),
        };
    };
}

shader!(UNARY, "unary.wgsl");
shader!(UNARY_BACKWARD, "unary_backward.wgsl");
shader!(BINARY, "binary.wgsl");
shader!(COPY, "copy.wgsl");
shader!(REDUCE, "reduce.wgsl");
shader!(SOFTMAX, "softmax.wgsl");
shader!(MATMUL, "matmul.wgsl");
shader!(MATMUL_SUBGROUP, "matmul_subgroup.wgsl");
shader!(CONV, "conv.wgsl");
shader!(POOL2D, "pool2d.wgsl");
shader!(INDEX, "index.wgsl");
shader!(OPTIM, "optim.wgsl");
shader!(LOSS, "loss.wgsl");
