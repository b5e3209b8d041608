//! Matrix products, including batched, broadcast and 1-D forms.

use crate::common::{Input, check_gradients};

#[test]
fn matmul_gradients_cover_every_form() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[3, 4], &[4, 5]),
        (&[4], &[4, 5]),
        (&[3, 4], &[4]),
        (&[4], &[4]),
        (&[2, 3, 4], &[4, 2]),
        (&[2, 1, 3, 4], &[3, 4, 2]),
    ];
    for (sa, sb) in cases {
        let ins = [Input::new(sa, -1.0, 1.0, 31), Input::new(sb, -1.0, 1.0, 32)];
        check_gradients(&format!("matmul {sa:?} @ {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            t[0].matmul(&t[1])
        });
    }
    let ins = [
        Input::new(&[5, 3], -1.0, 1.0, 33),
        Input::new(&[4, 3], -1.0, 1.0, 34),
    ];
    check_gradients("x @ w.t()", &ins, 1e-2, 1e-2, |t| t[0].matmul(&t[1].t()));
}
