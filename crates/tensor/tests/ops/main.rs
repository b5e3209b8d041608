//! Every forward op against a plain-loop CPU twin. One test binary, so one
//! device for the whole process.

mod common;
mod conv;
mod copy_and_views;
mod elementwise;
mod index;
mod launch;
mod loss;
mod matmul;
mod optim;
mod optim_foreach;
mod pool2d;
mod reduce;
mod softmax;
