//! Pickle reader: numpy arrays from numpy 1 and 2 under protocols 2 to 5,
//! and malformed or hostile pickles, which must be errors, never panics.

use wgrad_data::{DataError, NdArray, NdData, PickleValue, load_pickle, parse_pickle};

use crate::{TempDir, assert_mentions, gzip};

/// Written by `fixtures/generate.py`: the same dict of arrays, pickled by
/// numpy 1.26 (`numpy.core`) and numpy 2.4 (`numpy._core`) at each protocol.
const FIXTURES: [(&str, &[u8]); 8] = [
    ("numpy1_p2", include_bytes!("../fixtures/numpy1_p2.pkl")),
    ("numpy1_p3", include_bytes!("../fixtures/numpy1_p3.pkl")),
    ("numpy1_p4", include_bytes!("../fixtures/numpy1_p4.pkl")),
    ("numpy1_p5", include_bytes!("../fixtures/numpy1_p5.pkl")),
    ("numpy2_p2", include_bytes!("../fixtures/numpy2_p2.pkl")),
    ("numpy2_p3", include_bytes!("../fixtures/numpy2_p3.pkl")),
    ("numpy2_p4", include_bytes!("../fixtures/numpy2_p4.pkl")),
    ("numpy2_p5", include_bytes!("../fixtures/numpy2_p5.pkl")),
];

fn array(shape: &[usize], data: NdData) -> NdArray {
    NdArray {
        shape: shape.to_vec(),
        data,
    }
}

/// What generate.py put in every fixture, after conversion to native
/// endianness and row-major order.
fn expected_arrays() -> Vec<(&'static str, NdArray)> {
    let f4 = NdData::F32(vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);
    let f8 = NdData::F64(vec![1e-300, -2.5, std::f64::consts::PI]);
    let i8 = NdData::I64(vec![-(1 << 40), -1, 0, 7]);
    let i4 = NdData::I32(vec![i32::MIN, -1, 0, i32::MAX]);
    vec![
        ("f4", array(&[2, 3], f4.clone())),
        ("f4_be", array(&[2, 3], f4)),
        ("f8", array(&[3], f8.clone())),
        ("f8_be", array(&[3], f8)),
        ("i8", array(&[4], i8.clone())),
        ("i8_be", array(&[4], i8)),
        ("i4", array(&[2, 2], i4.clone())),
        ("i4_be", array(&[2, 2], i4)),
        ("u1", array(&[5], NdData::U8(vec![0, 1, 127, 128, 255]))),
        // np.asfortranarray(np.arange(24).reshape(2, 3, 4)): column-major in
        // the file, so reading it as-is would give 0, 12, 4, 16, ...
        ("fortran", array(&[2, 3, 4], NdData::I32((0..24).collect()))),
        ("empty", array(&[0, 3], NdData::F32(Vec::new()))),
        // np.float64(2.5): a numpy scalar is a 0-d array.
        ("scalar", array(&[], NdData::F64(vec![2.5]))),
    ]
}

#[test]
fn numpy_pickles_of_protocols_2_to_5_decode_every_dtype() {
    for (name, bytes) in FIXTURES {
        let value = parse_pickle(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (key, expected) in expected_arrays() {
            let found = value.get(key).and_then(PickleValue::as_ndarray);
            assert_eq!(found, Some(&expected), "{name}: array {key:?}");
        }
    }
}

#[test]
fn plain_python_values_decode() {
    use PickleValue::*;
    // [None, True, False, 1, -300, 2**40, 1.25, "text", b"raw", (1, 2)]:
    // BININT1, BININT, LONG1, BINFLOAT, and bytes (via _codecs.encode under protocol 2).
    let expected = List(vec![
        None,
        Bool(true),
        Bool(false),
        Int(1),
        Int(-300),
        Int(1 << 40),
        Float(1.25),
        Str("text".into()),
        Bytes(b"raw".to_vec()),
        Tuple(vec![Int(1), Int(2)]),
    ]);
    for (name, bytes) in FIXTURES {
        let value = parse_pickle(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(value.get("plain"), Some(&expected), "{name}");
    }
}

#[test]
fn ndarray_conversions_refuse_what_would_lose_information() {
    let value = parse_pickle(FIXTURES[7].1).expect("fixture");
    let get = |key| {
        value
            .get(key)
            .and_then(PickleValue::as_ndarray)
            .expect("array")
    };

    assert_eq!(get("u1").to_f32_vec(), [0.0, 1.0, 127.0, 128.0, 255.0]);
    assert_eq!(
        get("i4").to_i64_vec().expect("int"),
        [i32::MIN as i64, -1, 0, i32::MAX as i64]
    );
    assert_eq!(get("u1").to_i32_vec().expect("int"), [0, 1, 127, 128, 255]);

    let err = get("f4").to_i64_vec().expect_err("floats are not labels");
    assert!(
        matches!(
            err,
            DataError::Convert {
                from: "float32",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["float32", "i64"]);
    // -2^40 does not fit in i32.
    let err = get("i8").to_i32_vec().expect_err("out of range");
    assert_mentions(&err.to_string(), &["-1099511627776", "index 0", "i32"]);
}

#[test]
fn gzipped_pickles_load_from_files() {
    let dir = TempDir::new("pickle-gz");
    let path = dir.file("arrays.pkl.gz", &gzip(FIXTURES[0].1));
    let from_file = load_pickle(&path).expect("gzipped fixture");
    assert_eq!(from_file, parse_pickle(FIXTURES[0].1).expect("fixture"));
}

/// Asserts `bytes` fail as `DataError::Pickle` whose message mentions `words`.
fn assert_malformed(bytes: &[u8], words: &[&str]) -> u64 {
    match parse_pickle(bytes) {
        Err(DataError::Pickle {
            offset, message, ..
        }) => {
            assert_mentions(&message, words);
            offset
        }
        other => panic!("{bytes:?} should be a malformed pickle, got {other:?}"),
    }
}

#[test]
fn pickle_refuses_unknown_globals() {
    // The classic exploit: os.system("echo hi") through GLOBAL + REDUCE.
    let exploit = b"\x80\x02cos\nsystem\nq\x00X\x07\x00\x00\x00echo hi\x85R.";
    let err = parse_pickle(exploit).expect_err("os.system");
    assert!(
        matches!(&err, DataError::UnknownGlobal { module, name, offset: 2, .. } if module == "os" && name == "system"),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["os.system", "ever executed"]);

    // The same through STACK_GLOBAL (protocol 4).
    let stack_global = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.";
    let err = parse_pickle(stack_global).expect_err("builtins.eval");
    assert!(
        matches!(&err, DataError::UnknownGlobal { name, .. } if name == "eval"),
        "{err:?}"
    );
}

#[test]
fn pickle_rejects_a_cut_short_file_at_every_length() {
    let (name, bytes) = FIXTURES[6];
    for len in 0..bytes.len() {
        match parse_pickle(&bytes[..len]) {
            Err(DataError::Pickle { message, .. }) => {
                assert!(
                    message.contains("cut short") || message.contains("remain"),
                    "{name} cut at {len}: {message}"
                );
            }
            other => panic!("{name} cut at {len} should fail as cut short, got {other:?}"),
        }
    }
    let dir = TempDir::new("pickle-cut");
    let err = load_pickle(dir.file("cut.pkl", &bytes[..100])).expect_err("cut");
    assert_mentions(&err.to_string(), &["cut.pkl", "cut short"]);
}

#[test]
fn pickle_rejects_unknown_opcodes() {
    let offset = assert_malformed(b"\x80\x02\xff.", &["unknown opcode 0xff"]);
    assert_eq!(offset, 2, "the offset points at the bad opcode");
    // Known to Python but deliberately unsupported (INST calls a class).
    assert_malformed(b"\x80\x02(ios\nsystem\n.", &["INST", "not supported"]);
    assert_malformed(b"\x80\x06N.", &["protocol 6"]);
}

#[test]
fn pickle_reports_stack_underflow_memo_miss_and_missing_mark() {
    assert_malformed(b"\x80\x02\x85.", &["stack underflow"]);
    assert_malformed(b"\x80\x02N(\x86.", &["stack underflow"]);
    assert_malformed(b"\x80\x02h\x07.", &["memo miss", "7"]);
    assert_malformed(b"\x80\x02Nt.", &["MARK"]);
    assert_malformed(b"\x80\x02.", &["stack underflow"]);
    assert_malformed(b"\x80\x02NNa.", &["APPEND needs a list", "None"]);
}

#[test]
fn pickle_rejects_unsupported_dtypes_and_object_arrays() {
    // numpy.dtype('U5') (unicode strings).
    assert_malformed(
        b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00U5\x89\x88\x87R.",
        &["unsupported dtype 'U5'"],
    );
    // A dtype state naming fields: a structured dtype.
    assert_malformed(
        b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f4\x89\x88\x87R(K\x03X\x01\x00\x00\x00<N)NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb.",
        &["structured"],
    );
}

#[test]
fn length_fields_larger_than_the_file_are_errors_not_allocations() {
    // BINBYTES8 claiming 2^60 bytes; BINUNICODE claiming 4 GiB; LONG4 claiming 2^31.
    assert_malformed(
        b"\x80\x05\x8e\x00\x00\x00\x00\x00\x00\x00\x10abc.",
        &["claims 1152921504606846976 bytes"],
    );
    assert_malformed(
        b"\x80\x05X\xff\xff\xff\xffabc.",
        &["claims 4294967295 bytes"],
    );
    assert_malformed(
        b"\x80\x02\x8b\x00\x00\x00\x80.",
        &["claims 2147483648 bytes"],
    );
    assert_malformed(b"\x80\x02T\xff\xff\xff\xff.", &["negative length"]);
    assert_malformed(
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x01\x00\x00N.",
        &["claims"],
    );
}

#[test]
fn a_list_that_contains_itself_is_an_error() {
    // l = []; l.append(l)
    assert_malformed(b"\x80\x02]q\x00h\x00a.", &["cycle"]);
}

#[test]
fn flipping_any_byte_never_panics() {
    // Every single-byte corruption of a fixture must give Ok or Err, never a panic.
    let (_, bytes) = FIXTURES[3];
    let mut copy = bytes.to_vec();
    for i in 0..copy.len() {
        for flip in [0xff, 0x01, 0x80] {
            copy[i] ^= flip;
            let _ = parse_pickle(&copy);
            copy[i] ^= flip;
        }
    }
}
