//! IDX reader: every element type, and every way a file can be broken.

use wgrad_data::{DataError, IdxData, read_idx, read_idx_images, read_idx_labels};

use crate::{TempDir, assert_mentions, gzip};

/// An IDX file: magic (type code, dims count), big-endian dims, then `body`.
fn idx_file(type_code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn idx_reads_every_element_type_raw_and_gzipped() {
    let dir = TempDir::new("idx-types");
    let f32_body: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let f64_body: Vec<u8> = [0.25f64, -1e300]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let cases: Vec<(u8, Vec<u8>, IdxData)> = vec![
        (0x08, vec![0, 255], IdxData::U8(vec![0, 255])),
        (0x09, vec![0x80, 0x7f], IdxData::I8(vec![-128, 127])),
        (
            0x0B,
            vec![0xff, 0xfe, 0x01, 0x00],
            IdxData::I16(vec![-2, 256]),
        ),
        (
            0x0C,
            vec![0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0],
            IdxData::I32(vec![-1, 256]),
        ),
        (0x0D, f32_body, IdxData::F32(vec![1.5, -2.0])),
        (0x0E, f64_body, IdxData::F64(vec![0.25, -1e300])),
    ];
    for (code, body, expected) in cases {
        let bytes = idx_file(code, &[1, 2], &body);
        // Compression is sniffed from the content, so a raw file may be called anything.
        for (name, content) in [
            ("raw.idx", bytes.clone()),
            ("packed.gz", gzip(&bytes)),
            ("packed", gzip(&bytes)),
        ] {
            let path = dir.file(name, &content);
            let array =
                read_idx(&path).unwrap_or_else(|e| panic!("type {code:#04x} in {name}: {e}"));
            assert_eq!(array.dims, [1, 2], "type {code:#04x} in {name}");
            assert_eq!(array.data, expected, "type {code:#04x} in {name}");
        }
    }
}

#[test]
fn idx_images_and_labels_helpers_read_mnist_shaped_files() {
    let dir = TempDir::new("idx-helpers");
    let pixels: Vec<u8> = (0..2 * 3 * 4).collect();
    let images = dir.file("images.gz", &gzip(&idx_file(0x08, &[2, 3, 4], &pixels)));
    let labels = dir.file("labels", &idx_file(0x08, &[2], &[7, 3]));

    let read = read_idx_images(&images).expect("valid images");
    assert_eq!((read.count, read.rows, read.cols), (2, 3, 4));
    assert_eq!(read.pixels, pixels);
    assert_eq!(read_idx_labels(&labels).expect("valid labels"), [7, 3]);
}

#[test]
fn idx_rejects_truncated_data() {
    let dir = TempDir::new("idx-truncated");
    // The header promises 2 x 3 x 4 = 24 pixels; only 20 follow.
    let bytes = idx_file(0x08, &[2, 3, 4], &[0; 20]);
    for path in [
        dir.file("short", &bytes),
        dir.file("short.gz", &gzip(&bytes)),
    ] {
        let err = read_idx_images(&path).expect_err("truncated");
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected_bytes: 24,
                    found_bytes: 20,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(&err.to_string(), &["truncated", "24", "20"]);
    }

    // Cut inside the header itself.
    let err = read_idx(dir.file("stub", &[0, 0, 8])).expect_err("3-byte file");
    assert!(
        matches!(
            err,
            DataError::Truncated {
                what: "IDX header",
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_idx(dir.file("dims", &[0, 0, 8, 3, 0, 0, 0, 2])).expect_err("one of three dims");
    assert!(
        matches!(
            err,
            DataError::Truncated {
                what: "IDX dimensions",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn idx_rejects_bad_magic() {
    let dir = TempDir::new("idx-magic");
    // A perfectly good label file is not an image file.
    let labels = dir.file("labels.gz", &gzip(&idx_file(0x08, &[2], &[1, 2])));
    let err = read_idx_images(&labels).expect_err("labels are not images");
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["magic", "0x00000803", "0x00000801", "images"],
    );

    let images = dir.file("images", &idx_file(0x08, &[1, 1, 1], &[9]));
    let err = read_idx_labels(&images).expect_err("images are not labels");
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                expected: 0x801,
                found: 0x803,
                ..
            }
        ),
        "{err:?}"
    );

    // Not IDX at all: no leading zero bytes.
    let err = read_idx(dir.file("picture", b"GIF89a....")).expect_err("a GIF");
    assert!(matches!(err, DataError::NotIdx { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["not an IDX file"]);

    let err = read_idx(dir.file("weird-type", &idx_file(0x07, &[1], &[0]))).expect_err("type 0x07");
    assert!(
        matches!(err, DataError::UnsupportedIdxType { code: 0x07, .. }),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["type code 0x07"]);
}

#[test]
fn idx_rejects_a_lying_header() {
    let dir = TempDir::new("idx-lying");
    // 10^9 images of 28 x 28 is 784 GB: refused from the header alone,
    // before anything is allocated, raw or compressed.
    let huge = idx_file(0x08, &[1_000_000_000, 28, 28], &[0; 64]);
    for path in [dir.file("huge", &huge), dir.file("huge.gz", &gzip(&huge))] {
        let err = read_idx_images(&path).expect_err("10^9 images");
        assert!(matches!(err, DataError::LyingHeader { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["1000000000", "corrupt"]);
    }

    // 10^9 one-byte items would fit the size cap, but the file holds 64 bytes:
    // the body is read with a limit and found short, without a 1 GB buffer.
    let claims = idx_file(0x08, &[1_000_000_000], &[0; 64]);
    for path in [
        dir.file("claims", &claims),
        dir.file("claims.gz", &gzip(&claims)),
    ] {
        let err = read_idx(&path).expect_err("10^9 labels in 64 bytes");
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected_bytes: 1_000_000_000,
                    found_bytes: 64,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    // Product of dims overflowing u64.
    let overflow = idx_file(0x0E, &[u32::MAX, u32::MAX, u32::MAX], &[]);
    let err = read_idx(dir.file("overflow", &overflow)).expect_err("overflowing dims");
    assert!(matches!(err, DataError::LyingHeader { .. }), "{err:?}");

    // More data than the header accounts for.
    let long = idx_file(0x08, &[2], &[1, 2, 3]);
    for path in [dir.file("long", &long), dir.file("long.gz", &gzip(&long))] {
        let err = read_idx_labels(&path).expect_err("trailing byte");
        assert!(matches!(err, DataError::LyingHeader { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["holds more"]);
    }
}

#[test]
fn gz_name_on_a_file_that_is_not_gzip_is_rejected() {
    let dir = TempDir::new("idx-notgzip");
    let path = dir.file("train-labels-idx1-ubyte.gz", &idx_file(0x08, &[1], &[5]));
    let err = read_idx_labels(&path).expect_err("not gzip");
    assert!(matches!(err, DataError::NotGzip { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &["not gzip", "1f 8b", "train-labels-idx1-ubyte.gz"],
    );
}

#[test]
fn corrupt_gzip_is_rejected() {
    let dir = TempDir::new("idx-corrupt");
    let body: Vec<u8> = (0..=255).cycle().take(4096).collect();
    let packed = gzip(&idx_file(0x08, &[4096], &body));

    // Damage the compressed stream (past the 10-byte gzip header).
    let mut damaged = packed.clone();
    for b in &mut damaged[20..40] {
        *b ^= 0x5a;
    }
    // And cut it short.
    let cut = &packed[..packed.len() / 2];

    for (name, bytes) in [("damaged.gz", &damaged[..]), ("cut.gz", cut)] {
        let err = read_idx_labels(dir.file(name, bytes)).expect_err(name);
        assert!(
            matches!(err, DataError::CorruptGzip { .. }),
            "{name}: {err:?}"
        );
        assert_mentions(&err.to_string(), &["corrupt", name]);
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("idx-missing");
    let err = read_idx(dir.path().join("nope.gz")).expect_err("missing");
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["could not read", "nope.gz"]);
}
