//! contiguous, copy_, fill_, casts, views and creation.

use wgrad_tensor::{DType, Tensor};

use crate::common::{LENGTHS, assert_close, read, values};

#[test]
fn contiguous_materialises_permuted_and_sliced_views() {
    let data = values(2 * 3 * 4, -1.0, 1.0, 9);
    let t = Tensor::from_slice(&data, &[2, 3, 4]);
    let p = t.permute(&[2, 0, 1]);
    assert!(!p.is_contiguous());
    assert_eq!(p.shape(), &[4, 2, 3]);
    let want: Vec<f32> = (0..24)
        .map(|k| {
            let (i, j, l) = (k / 6, (k / 3) % 2, k % 3); // p[i][j][l] = t[j][l][i]
            data[j * 12 + l * 4 + i]
        })
        .collect();
    assert_close("permute", &read(&p.contiguous()), &want, 0.0);
    // t[:, 1:3, ::2]
    let s = t.slice(1, 1, 3, 1).slice(2, 0, 4, 2);
    assert_eq!(s.shape(), &[2, 2, 2]);
    let want: Vec<f32> = [
        (0, 1, 0),
        (0, 1, 2),
        (0, 2, 0),
        (0, 2, 2),
        (1, 1, 0),
        (1, 1, 2),
        (1, 2, 0),
        (1, 2, 2),
    ]
    .iter()
    .map(|&(a, b, c)| data[a * 12 + b * 4 + c])
    .collect();
    assert_close("slice", &read(&s), &want, 0.0);
}

#[test]
fn reshape_infers_minus_one_and_view_refuses_strided_input() {
    let t = Tensor::arange(0.0, 12.0, 1.0);
    let r = t.reshape(&[3, -1]);
    assert_eq!(r.shape(), &[3, 4]);
    assert!(r.shares_storage(&t), "a contiguous reshape is a view");
    // So is one of a dense slice that starts past the buffer's beginning
    // (a batch of a larger tensor), as in PyTorch.
    let rows = t.narrow(0, 4, 8).reshape(&[2, 4]);
    assert!(rows.shares_storage(&t), "a dense slice reshapes in place");
    assert_eq!(rows.layout().offset, 4);
    assert_eq!(read(&rows), (4..12).map(|v| v as f32).collect::<Vec<_>>());
    let e = r.t().try_view(&[12]).unwrap_err().to_string();
    assert!(e.contains("view") && e.contains("reshape"), "{e}");
    assert_eq!(read(&r.t().reshape(&[-1]))[..4], [0.0, 4.0, 8.0, 1.0]);
    let e = t.try_reshape(&[5, -1]).unwrap_err().to_string();
    assert!(e.contains("[5, -1]") && e.contains("12"), "{e}");
    assert_eq!(t.reshape(&[2, 3, 2]).flatten(1, -1).shape(), &[2, 6]);
    assert_eq!(t.reshape(&[1, 12, 1]).squeeze_all().shape(), &[12]);
    assert_eq!(t.unsqueeze(0).shape(), &[1, 12]);
    assert_eq!(t.unsqueeze(-1).shape(), &[12, 1]);
}

#[test]
fn slice_assignment_and_fill_write_only_the_view() {
    // t[:, 1] = 0, the tutorial's assignment.
    let t = Tensor::ones(&[4, 4]);
    t.select(1, 1).fill_(0.0);
    let v = read(&t);
    for r in 0..4 {
        assert_eq!(&v[r * 4..r * 4 + 4], &[1.0, 0.0, 1.0, 1.0]);
    }
    // t[1:3, :] = row (broadcast)
    let row = Tensor::from_slice(&[5.0f32, 6.0, 7.0, 8.0], &[4]);
    t.narrow(0, 1, 2).copy_(&row);
    assert_eq!(&read(&t)[4..12], &[5.0, 6.0, 7.0, 8.0, 5.0, 6.0, 7.0, 8.0]);
    // Overlapping copy within one buffer: t[0] = t[1].
    t.select(0, 0).copy_(&t.select(0, 1));
    assert_eq!(&read(&t)[0..4], &[5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn copy_and_fill_cover_every_length() {
    for n in LENGTHS {
        let data = values(n, -5.0, 5.0, n as u32);
        let src = Tensor::from_slice(&data, &[n]);
        let dst = Tensor::zeros(&[n]);
        dst.copy_(&src);
        assert_close(&format!("copy_ n={n}"), &read(&dst), &data, 0.0);
        dst.fill_(2.5);
        assert!(read(&dst).iter().all(|&v| v == 2.5));
    }
}

#[test]
fn casts_truncate_toward_zero_and_keep_integers_exact() {
    let f = Tensor::from_slice(&[-1.7f32, -0.2, 0.9, 16_777_216.0], &[4]);
    let i = f.int();
    assert_eq!(i.dtype(), DType::I32);
    assert_eq!(i.to_vec::<i32>().unwrap(), vec![-1, 0, 0, 16_777_216]);
    assert_eq!(read(&i.float()), vec![-1.0, 0.0, 0.0, 16_777_216.0]);
    let e = f.to_vec::<i32>().unwrap_err().to_string();
    assert!(e.contains("to_vec") && e.contains("F32"), "{e}");
}

#[test]
fn creation_functions_fill_what_they_say() {
    assert_eq!(
        read(&Tensor::eye(3)),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        read(&Tensor::arange(1.0, 2.0, 0.25)),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(read(&Tensor::full(&[2], 3.5)), vec![3.5, 3.5]);
    // Up to 64 elements are uploaded, more are filled by a kernel.
    for shape in [&[][..], &[8, 8], &[65], &[3, 100]] {
        let t = Tensor::full(shape, -2.25);
        assert_eq!(t.shape(), shape);
        assert_eq!(read(&t), vec![-2.25; shape.iter().product()], "{shape:?}");
    }
    assert_eq!(Tensor::zeros(&[0, 3]).numel(), 0);
    assert_eq!(read(&Tensor::zeros(&[0, 3])), Vec::<f32>::new());
    wgrad_tensor::manual_seed(1);
    let a = read(&Tensor::rand(&[1000]));
    wgrad_tensor::manual_seed(1);
    let b = read(&Tensor::rand(&[1000]));
    assert_eq!(a, b, "manual_seed makes rand repeatable");
    assert!(a.iter().all(|&v| (0.0..1.0).contains(&v)));
    let n = read(&Tensor::randn(&[20_000]));
    let mean = n.iter().sum::<f32>() / n.len() as f32;
    let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n.len() as f32;
    assert!(
        mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
        "mean {mean} var {var}"
    );
    let e = Tensor::try_from_slice(&[1.0f32, 2.0], &[3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 values") && e.contains("[3]"), "{e}");
}

#[test]
fn printing_matches_pytorch() {
    let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(t.to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
    let i = Tensor::from_slice(&[1i32, 2], &[2]);
    assert_eq!(i.to_string(), "tensor([1, 2], dtype=torch.int32)");
    assert_eq!(Tensor::scalar(0.5).to_string(), "tensor(0.5000)");
}
