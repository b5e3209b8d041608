//! Views: reshape, permute, transpose, narrow, slice, select, expand.

use wgrad_autograd::Tensor;

use crate::common::{Input, check_gradients};

#[test]
fn view_gradients_route_each_element_back() {
    let x = [Input::new(&[2, 3, 4], -1.0, 1.0, 21)];
    check_gradients("reshape", &x, 1e-2, 1e-2, |t| t[0].reshape(&[4, -1]));
    check_gradients("view", &x, 1e-2, 1e-2, |t| t[0].view(&[-1]));
    check_gradients("flatten", &x, 1e-2, 1e-2, |t| t[0].flatten(1, -1));
    check_gradients("unsqueeze", &x, 1e-2, 1e-2, |t| t[0].unsqueeze(1));
    check_gradients("permute", &x, 1e-2, 1e-2, |t| t[0].permute(&[2, 0, 1]));
    check_gradients("transpose", &x, 1e-2, 1e-2, |t| t[0].transpose(0, -1));
    check_gradients("narrow", &x, 1e-2, 1e-2, |t| t[0].narrow(2, 1, 2));
    check_gradients("slice with step", &x, 1e-2, 1e-2, |t| {
        t[0].slice(2, 1, 4, 2)
    });
    check_gradients("select", &x, 1e-2, 1e-2, |t| t[0].select(1, -1));
    check_gradients("contiguous of permuted", &x, 1e-2, 1e-2, |t| {
        t[0].permute(&[1, 2, 0]).contiguous()
    });
    let y = [Input::new(&[3, 1], -1.0, 1.0, 22)];
    check_gradients("expand", &y, 1e-2, 1e-2, |t| t[0].expand(&[2, 3, 4]));
    check_gradients("squeeze", &y, 1e-2, 1e-2, |t| t[0].squeeze(1));
}

#[test]
fn an_empty_slice_gives_a_zero_gradient() {
    let x = Tensor::ones(&[3, 2]).with_grad();
    let s = x.narrow(0, 1, 0);
    (&s.sum() + &x.sum()).backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![1.0; 6]);
}
