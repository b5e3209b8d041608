//! `state_dict` and `load_state_dict`: keys, copying, strict errors.

use wgrad_autograd::Tensor;
use wgrad_nn::{Forward, Linear, Module, NnError, ShapeMismatch, StateDict, sequential};

use crate::common::{assert_close, host, tensor};
use crate::derive::Net;

#[test]
fn state_dict_lists_parameters_in_pytorch_order_and_shares_their_buffers() {
    let net = Net::new();
    let state = net.state_dict();
    let keys: Vec<&str> = state.keys().collect();
    assert_eq!(
        keys[..4],
        ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
    );
    assert_eq!(state.len(), 10);
    let w = state.get("fc1.weight").unwrap();
    assert_eq!(w.shape(), &[120, 400]);
    assert!(!w.requires_grad(), "state_dict tensors are detached");
    assert!(w.data().shares_storage(net.fc1.weight.data()));
}

#[test]
fn load_state_dict_copies_every_tensor_so_outputs_match() {
    let (a, b) = (Net::new(), Net::new());
    let x = Tensor::randn(&[2, 1, 32, 32]);
    let missing = b.load_state_dict(&a.state_dict(), true).unwrap();
    assert!(missing.missing_keys.is_empty() && missing.unexpected_keys.is_empty());
    assert_close("outputs", &host(&b.forward(&x)), &host(&a.forward(&x)), 0.0);
    // A copy, not an alias: b's parameters stay b's own tensors.
    assert!(!b.fc1.weight.data().shares_storage(a.fc1.weight.data()));
    assert!(b.fc1.weight.requires_grad() && b.fc1.weight.is_leaf());
}

#[test]
fn strict_load_lists_missing_unexpected_and_mis_shaped_keys_and_changes_nothing() {
    let net = Net::new();
    let before = host(&net.conv1.weight);
    let mut state = Net::new().state_dict();
    state.remove("fc3.weight");
    state.remove("fc3.bias");
    state.insert("fc4.weight", Tensor::zeros(&[10, 84]));
    state.insert("fc1.weight", Tensor::zeros(&[120, 401]));
    let err = net.load_state_dict(&state, true).unwrap_err();
    let NnError::LoadStateDict(e) = &err else {
        panic!("expected a LoadStateDict error, got {err}");
    };
    assert_eq!(e.module, "Net");
    assert_eq!(e.missing, ["fc3.weight", "fc3.bias"]);
    assert_eq!(e.unexpected, ["fc4.weight"]);
    assert_eq!(
        e.mismatched,
        [ShapeMismatch {
            key: "fc1.weight".into(),
            checkpoint: vec![120, 401],
            model: vec![120, 400],
        }]
    );
    assert_eq!(
        err.to_string(),
        "Error(s) in loading state_dict for Net:\n\
         \tMissing key(s) in state_dict: \"fc3.weight\", \"fc3.bias\". \n\
         \tUnexpected key(s) in state_dict: \"fc4.weight\". \n\
         \tsize mismatch for fc1.weight: copying a param with shape torch.Size([120, 401]) from checkpoint, \
         the shape in current model is torch.Size([120, 400])."
    );
    assert_eq!(
        host(&net.conv1.weight),
        before,
        "nothing is copied on error"
    );
}

#[test]
fn non_strict_load_copies_what_matches_and_reports_the_rest() {
    let net = sequential![Linear::new(3, 2), Linear::new(2, 1)];
    let mut state = StateDict::new();
    state.insert("0.weight", tensor(&[2, 3], 60));
    state.insert("extra", Tensor::zeros(&[1]));
    let keys = net.load_state_dict(&state, false).unwrap();
    assert_eq!(keys.missing_keys, ["0.bias", "1.weight", "1.bias"]);
    assert_eq!(keys.unexpected_keys, ["extra"]);
    assert_eq!(
        host(&net.get::<Linear>(0).unwrap().weight),
        host(&tensor(&[2, 3], 60))
    );
    // A shape mismatch is an error even when not strict, as in PyTorch.
    state.insert("0.weight", Tensor::zeros(&[3, 2]));
    let err = net.load_state_dict(&state, false).unwrap_err();
    let NnError::LoadStateDict(e) = err else {
        panic!("{err}")
    };
    assert!(e.missing.is_empty() && e.unexpected.is_empty() && e.mismatched.len() == 1);
}

#[test]
fn load_converts_integer_tensors_into_float_parameters() {
    let lin = Linear::new(2, 2);
    let mut state = lin.state_dict();
    state.insert("bias", Tensor::from_slice(&[3i32, -4], &[2]));
    lin.load_state_dict(&state, true).unwrap();
    assert_eq!(host(lin.bias.as_ref().unwrap()), [3.0, -4.0]);
}

#[test]
fn state_dict_insert_keeps_position_and_remove_keeps_order() {
    let mut s = StateDict::new();
    s.insert("a", Tensor::zeros(&[1]));
    s.insert("b", Tensor::zeros(&[2]));
    s.insert("c", Tensor::zeros(&[3]));
    assert!(s.insert("a", Tensor::zeros(&[4])).is_some());
    assert_eq!(s.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(s.get("a").unwrap().shape(), &[4]);
    s.remove("b");
    assert_eq!(s.keys().collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(s.get("c").unwrap().shape(), &[3]);
    assert!(!s.contains_key("b"));
}
