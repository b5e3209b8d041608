//! safetensors checkpoints: round trips, PyTorch-written files, errors
//! that name the file and key, atomic writes.

use std::collections::HashMap;
use std::fs;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use wgrad_autograd::Tensor;
use wgrad_nn::{Forward, Module, NnError, StateDict, load_safetensors, save_safetensors};

use crate::common::{assert_close, host, values};
use crate::derive::Net;

#[test]
fn a_saved_and_reloaded_model_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lenet.safetensors");
    let (a, b) = (Net::new(), Net::new());
    a.save(&path).unwrap();
    b.load(&path).unwrap();
    let x = Tensor::randn(&[2, 1, 32, 32]);
    assert_close("outputs", &host(&b.forward(&x)), &host(&a.forward(&x)), 0.0);
    let state = load_safetensors(&path).unwrap();
    assert_eq!(state.len(), 10);
    assert_eq!(state.get("conv1.weight").unwrap().shape(), &[6, 1, 5, 5]);
}

#[test]
fn saved_files_use_pytorch_keys_dtypes_and_row_major_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut state = StateDict::new();
    state.insert(
        "w",
        Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).t(),
    );
    state.insert("steps", Tensor::from_slice(&[7i32], &[1]));
    save_safetensors(&state, &path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let w = file.tensor("w").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[3usize, 2][..]));
    // The transposed view is written in its own row-major order.
    let floats: Vec<f32> = w
        .data()
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(floats, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let steps = file.tensor("steps").unwrap();
    assert_eq!(
        (steps.dtype(), steps.data()),
        (Dtype::I32, &7i32.to_le_bytes()[..])
    );
    let back = load_safetensors(&path).unwrap();
    assert_eq!(back.get("steps").unwrap().to_vec::<i32>().unwrap(), [7]);
}

/// The bytes `safetensors.torch.save_file(net.state_dict(), path)` writes
/// for LeNet, built with the safetensors crate's own serializer.
fn pytorch_lenet_file() -> (Vec<u8>, HashMap<String, Vec<f32>>) {
    let shapes: [(&str, &[usize]); 10] = [
        ("conv1.weight", &[6, 1, 5, 5]),
        ("conv1.bias", &[6]),
        ("conv2.weight", &[16, 6, 5, 5]),
        ("conv2.bias", &[16]),
        ("fc1.weight", &[120, 400]),
        ("fc1.bias", &[120]),
        ("fc2.weight", &[84, 120]),
        ("fc2.bias", &[84]),
        ("fc3.weight", &[10, 84]),
        ("fc3.bias", &[10]),
    ];
    struct Entry {
        key: &'static str,
        shape: Vec<usize>,
        values: Vec<f32>,
        bytes: Vec<u8>,
    }
    let data: Vec<Entry> = shapes
        .iter()
        .enumerate()
        .map(|(i, (key, s))| {
            let values = values(s.iter().product(), -0.5, 0.5, 100 + i as u32);
            let bytes = values.iter().flat_map(|x| x.to_le_bytes()).collect();
            Entry {
                key,
                shape: s.to_vec(),
                values,
                bytes,
            }
        })
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = data
        .iter()
        .map(|e| {
            (
                e.key,
                TensorView::new(Dtype::F32, e.shape.clone(), &e.bytes).unwrap(),
            )
        })
        .collect();
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize(views, Some(meta)).unwrap();
    (
        bytes,
        data.into_iter()
            .map(|e| (e.key.to_string(), e.values))
            .collect(),
    )
}

#[test]
fn a_pytorch_lenet_checkpoint_loads_into_the_same_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lenet_from_torch.safetensors");
    let (bytes, want) = pytorch_lenet_file();
    fs::write(&path, bytes).unwrap();
    let net = Net::new();
    net.load(&path).unwrap();
    for (key, t) in net.state_dict().iter() {
        assert_close(key, &host(t), &want[key], 0.0);
    }
}

#[test]
fn int64_and_float64_tensors_are_narrowed_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.safetensors");
    let i: Vec<u8> = [5i64, -6].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f: Vec<u8> = [0.5f64, 1.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let views = vec![
        (
            "num_batches_tracked",
            TensorView::new(Dtype::I64, vec![2], &i).unwrap(),
        ),
        ("scale", TensorView::new(Dtype::F64, vec![2], &f).unwrap()),
    ];
    fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let state = load_safetensors(&path).unwrap();
    assert_eq!(
        state
            .get("num_batches_tracked")
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [5, -6]
    );
    assert_eq!(host(state.get("scale").unwrap()), [0.5, 1.25]);
}

#[test]
fn an_unsupported_dtype_is_an_error_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.safetensors");
    let h = [0u8; 4];
    let views = vec![(
        "emb.weight",
        TensorView::new(Dtype::F16, vec![2], &h).unwrap(),
    )];
    fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let err = load_safetensors(&path).unwrap_err();
    assert!(
        matches!(&err, NnError::UnsupportedDtype { key, .. } if key == "emb.weight"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("half.safetensors") && msg.contains("emb.weight") && msg.contains("F16"),
        "{msg}"
    );
}

#[test]
fn a_truncated_or_corrupt_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.safetensors");
    Net::new().save(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = load_safetensors(&path).unwrap_err();
    assert!(
        matches!(&err, NnError::Safetensors { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("cut.safetensors"), "{err}");
    for garbage in [&b"abc"[..], &b"\x10\0\0\0\0\0\0\0{not json at all}"[..]] {
        fs::write(&path, garbage).unwrap();
        let err = Net::new().load(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("cut.safetensors: not a valid safetensors file"),
            "{err}"
        );
    }
    let missing = dir.path().join("absent.safetensors");
    let err = load_safetensors(&missing).unwrap_err();
    assert!(
        matches!(err, NnError::Io { .. }) && err.to_string().contains("absent.safetensors"),
        "{err}"
    );
}

#[test]
fn a_failed_save_leaves_no_partial_or_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a directory: the final rename fails after the data is written.
    let target = dir.path().join("occupied");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    let err = save_safetensors(&Net::new().state_dict(), &target).unwrap_err();
    assert!(
        matches!(
            err,
            NnError::Io {
                action: "renaming into",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("occupied"), "{err}");
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["occupied"], "no temporary file is left behind");
    // A directory that does not exist: nothing is created.
    let err = save_safetensors(
        &StateDict::new(),
        dir.path().join("no/such/dir/m.safetensors"),
    );
    assert!(matches!(
        err,
        Err(NnError::Io {
            action: "creating",
            ..
        })
    ));
}

#[test]
fn saving_over_an_existing_checkpoint_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (a, b) = (Net::new(), Net::new());
    a.save(&path).unwrap();
    b.save(&path).unwrap();
    let state = load_safetensors(&path).unwrap();
    assert_eq!(
        host(state.get("fc3.bias").unwrap()),
        host(b.fc3.bias.as_ref().unwrap())
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}
