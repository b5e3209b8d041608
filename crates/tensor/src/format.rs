//! Tensor printing that matches PyTorch 2.x `torch._tensor_str` byte for byte,
//! so wgrad output can be diffed directly against a PyTorch reference run.
//!
//! Only PyTorch's default print options are supported; each helper below
//! mirrors the Python function of the same role (`_Formatter`, `_vector_str`,
//! `_tensor_str_with_formatter`, `get_summarized_data`, `_add_suffixes`).

use std::iter::once;

// PyTorch's default `PRINT_OPTS` (sci_mode None = chosen per tensor).
const PRECISION: usize = 4;
const THRESHOLD: usize = 1000;
const EDGEITEMS: usize = 3;
const LINEWIDTH: usize = 80;
const PREFIX: &str = "tensor(";

/// The element values a printer sees.
#[derive(Clone, Copy, Debug)]
pub enum FormatData<'a> {
    F32(&'a [f32]),
    I32(&'a [i32]),
}

impl FormatData<'_> {
    fn len(self) -> usize {
        match self {
            FormatData::F32(v) => v.len(),
            FormatData::I32(v) => v.len(),
        }
    }
}

/// Formats like `torch.Tensor.__repr__`: `tensor([[1., 2.],\n        [3., 4.]])`.
/// `suffixes` are extra `key=value` items PyTorch appends after the data, e.g. "dtype=torch.int32" or "requires_grad=True" or "grad_fn=<AddBackward0>".
///
/// `data` is contiguous row-major with `data.len() == shape.iter().product()`.
/// The `size=(..)` suffix PyTorch adds to empty non-1-D tensors is generated
/// here (it always precedes dtype/grad suffixes, so it goes first).
pub fn format_tensor(data: FormatData<'_>, shape: &[usize], suffixes: &[String]) -> String {
    let numel: usize = shape.iter().product();
    let mut all = Vec::with_capacity(suffixes.len() + 1);
    let body = if data.len() != numel {
        // A formatter must not panic inside Display/Debug; show the mismatch.
        format!("<{} values for shape {shape:?}>", data.len())
    } else if numel == 0 {
        // PyTorch prints the shape unless it is (0,), to match NumPy.
        if shape.len() != 1 {
            all.push(format!("size={}", py_tuple(shape)));
        }
        "[]".to_string()
    } else {
        Printer::new(data, shape).block(0, 0, PREFIX.len())
    };
    all.extend(suffixes.iter().cloned());
    add_suffixes(format!("{PREFIX}{body}"), &all, PREFIX.len())
}

/// Python's `str(tuple(shape))`, e.g. `(0, 3)` or `(0,)`.
fn py_tuple(shape: &[usize]) -> String {
    let items: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let trailing = if shape.len() == 1 { "," } else { "" };
    format!("({}{trailing})", items.join(", "))
}

/// `_add_suffixes`: `, suffix` while it fits, else `,\n` + indent + suffix.
fn add_suffixes(mut s: String, suffixes: &[String], indent: usize) -> String {
    // PyTorch computes `len(s) - s.rfind("\n") + 1`, which is the last line's
    // length plus 2 whether or not there is a newline; keep that quirk.
    let mut last_len = s.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 2;
    for suffix in suffixes {
        let n = suffix.chars().count();
        if last_len + n + 2 > LINEWIDTH {
            s.push_str(",\n");
            s.push_str(&" ".repeat(indent));
            last_len = indent + n;
        } else {
            s.push_str(", ");
            last_len += n + 2;
        }
        s.push_str(suffix);
    }
    s.push(')');
    s
}

/// Indices kept along one dimension; `None` marks the `...` placeholder.
fn kept(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGEITEMS {
        let head = (0..EDGEITEMS).map(Some);
        let tail = (n - EDGEITEMS..n).map(Some);
        head.chain(once(None)).chain(tail).collect()
    } else {
        (0..n).map(Some).collect()
    }
}

/// How float elements are rendered; chosen once per tensor like `_Formatter`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// All finite values are integers: `1.`, `-3.`.
    IntValued,
    /// `{:.4f}`.
    Fixed,
    /// `{:.4e}` with a Python-style exponent.
    Sci,
}

/// `_Formatter`: a mode plus the common width every element is padded to.
struct Formatter {
    mode: Mode,
    width: usize,
}

impl Formatter {
    /// Built from the (possibly summarised) element values only, so hidden
    /// elements affect neither the mode nor the width, as in PyTorch.
    fn new(data: FormatData<'_>, offsets: &[usize]) -> Self {
        match data {
            FormatData::I32(v) => {
                let width = offsets.iter().map(|&i| v[i].to_string().len());
                let width = width.fold(1, usize::max);
                // `mode` only matters for floats; ints print as plain `{}`.
                Self {
                    mode: Mode::IntValued,
                    width,
                }
            }
            FormatData::F32(v) => {
                let vals = offsets.iter().map(|&i| f64::from(v[i]));
                Self::for_floats(vals.filter(|x| x.is_finite() && *x != 0.0).collect())
            }
        }
    }

    /// `vals` are the nonzero finite values; zeros and non-finites never
    /// influence the mode or width in PyTorch.
    fn for_floats(vals: Vec<f64>) -> Self {
        if vals.is_empty() {
            return Self {
                mode: Mode::IntValued,
                width: 1,
            };
        }
        let min = vals.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
        let max = vals.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
        // Note PyTorch applies the sci test to integer-valued tensors too,
        // so e.g. `[1., 10000.]` prints in scientific notation.
        let mode = if max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4 {
            Mode::Sci
        } else if vals.iter().all(|v| *v == v.ceil()) {
            Mode::IntValued
        } else {
            Mode::Fixed
        };
        let mut f = Self { mode, width: 1 };
        f.width = vals.iter().map(|&v| f.float(v).len()).fold(1, usize::max);
        f
    }

    /// One element, right-aligned to the common width.
    fn format(&self, data: FormatData<'_>, i: usize) -> String {
        let raw = match data {
            FormatData::I32(v) => v[i].to_string(),
            FormatData::F32(v) => self.float(f64::from(v[i])),
        };
        format!("{raw:>w$}", w = self.width)
    }

    /// Unpadded float text; values are widened to f64 because PyTorch
    /// formats `tensor.item()`, a Python float.
    fn float(&self, v: f64) -> String {
        if v.is_nan() {
            return "nan".to_string();
        }
        if v.is_infinite() {
            return if v > 0.0 { "inf" } else { "-inf" }.to_string();
        }
        match self.mode {
            Mode::IntValued => format!("{v:.0}."),
            Mode::Fixed => format!("{v:.PRECISION$}"),
            Mode::Sci => py_sci(v),
        }
    }
}

/// Python's `{:.4e}`: Rust writes `1.0000e-5`, Python `1.0000e-05`
/// (explicit sign, at least two exponent digits). Both round half-to-even
/// on the exact binary value, so the mantissas agree.
fn py_sci(v: f64) -> String {
    let s = format!("{v:.PRECISION$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(('+', exp), |d| ('-', d));
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// `_tensor_str_with_formatter` state for one tensor.
struct Printer<'a> {
    data: FormatData<'a>,
    shape: &'a [usize],
    strides: Vec<usize>,
    summarize: bool,
    fmt: Formatter,
}

impl<'a> Printer<'a> {
    fn new(data: FormatData<'a>, shape: &'a [usize]) -> Self {
        let mut strides = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1];
        }
        let summarize = data.len() > THRESHOLD;
        let offsets = summary_offsets(shape, &strides, summarize);
        let fmt = Formatter::new(data, &offsets);
        Self {
            data,
            shape,
            strides,
            summarize,
            fmt,
        }
    }

    /// The sub-tensor at `level` starting at flat `offset`, whose opening
    /// bracket sits in column `indent`.
    fn block(&self, level: usize, offset: usize, indent: usize) -> String {
        let dims = self.shape.len() - level;
        if dims == 0 {
            return self.fmt.format(self.data, offset);
        }
        if dims == 1 {
            return self.vector(level, offset, indent);
        }
        let stride = self.strides[level];
        let slices: Vec<String> = kept(self.shape[level], self.summarize)
            .into_iter()
            .map(|k| match k {
                Some(i) => self.block(level + 1, offset + i * stride, indent + 1),
                None => "...".to_string(),
            })
            .collect();
        // dims - 1 newlines: one blank line between matrices, two between 3-D blocks.
        let sep = format!(",{}{}", "\n".repeat(dims - 1), " ".repeat(indent + 1));
        format!("[{}]", slices.join(&sep))
    }

    /// `_vector_str`: a 1-D row wrapped to `LINEWIDTH`.
    fn vector(&self, level: usize, offset: usize, indent: usize) -> String {
        // Every element is budgeted `width + 2` for its ", " separator.
        let per_line = (LINEWIDTH.saturating_sub(indent) / (self.fmt.width + 2)).max(1);
        let stride = self.strides[level];
        let items: Vec<String> = kept(self.shape[level], self.summarize)
            .into_iter()
            .map(|k| match k {
                Some(i) => self.fmt.format(self.data, offset + i * stride),
                // Joined with ", " this yields PyTorch's ",  ..., ".
                None => " ...".to_string(),
            })
            .collect();
        let lines: Vec<String> = items.chunks(per_line).map(|c| c.join(", ")).collect();
        format!(
            "[{}]",
            lines.join(&format!(",\n{}", " ".repeat(indent + 1)))
        )
    }
}

/// `get_summarized_data`: flat offsets of the elements that will be shown,
/// i.e. the cartesian product of the kept indices of every dimension.
fn summary_offsets(shape: &[usize], strides: &[usize], summarize: bool) -> Vec<usize> {
    let mut offsets = vec![0];
    for (&n, &stride) in shape.iter().zip(strides) {
        let ks: Vec<usize> = kept(n, summarize).into_iter().flatten().collect();
        offsets = offsets
            .iter()
            .flat_map(|&o| ks.iter().map(move |&k| o + k * stride))
            .collect();
    }
    offsets
}

#[cfg(test)]
mod tests {
    //! Expected strings are what PyTorch 2.x prints for the same tensor.
    use super::*;

    fn f32s(data: &[f32], shape: &[usize]) -> String {
        format_tensor(FormatData::F32(data), shape, &[])
    }

    fn with(data: &[f32], shape: &[usize], suffix: &str) -> String {
        format_tensor(FormatData::F32(data), shape, &[suffix.to_string()])
    }

    fn i32s(data: &[i32], shape: &[usize]) -> String {
        let dtype = ["dtype=torch.int32".to_string()];
        format_tensor(FormatData::I32(data), shape, &dtype)
    }

    fn arange(start: u16, end: u16) -> Vec<f32> {
        (start..end).map(f32::from).collect()
    }

    #[test]
    fn matrix_2x2() {
        let want = "tensor([[1., 2.],\n        [3., 4.]])";
        assert_eq!(f32s(&[1.0, 2.0, 3.0, 4.0], &[2, 2]), want);
    }

    #[test]
    fn fixed_point() {
        assert_eq!(f32s(&[0.1, 0.25], &[2]), "tensor([0.1000, 0.2500])");
        assert_eq!(f32s(&[-1.5, 2.25], &[2]), "tensor([-1.5000,  2.2500])");
    }

    #[test]
    fn scientific() {
        assert_eq!(f32s(&[1e-5, 1.0], &[2]), "tensor([1.0000e-05, 1.0000e+00])");
        // Integer-valued but spanning > 1000x: PyTorch still switches to sci.
        assert_eq!(f32s(&[1.0, 1e4], &[2]), "tensor([1.0000e+00, 1.0000e+04])");
    }

    #[test]
    fn integer_valued_widths() {
        assert_eq!(f32s(&[36.0, 81.0], &[2]), "tensor([36., 81.])");
        assert_eq!(f32s(&[-12.0, -8.0], &[2]), "tensor([-12.,  -8.])");
        assert_eq!(f32s(&[0.0, 0.0], &[2]), "tensor([0., 0.])");
    }

    #[test]
    fn non_finite() {
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        assert_eq!(f32s(&[nan, 1.0, -inf], &[3]), "tensor([nan, 1., -inf])");
        assert_eq!(f32s(&[0.5, nan], &[2]), "tensor([0.5000,    nan])");
        assert_eq!(f32s(&[1e-5, inf], &[2]), "tensor([1.0000e-05,        inf])");
    }

    #[test]
    fn scalars() {
        assert_eq!(f32s(&[3.0], &[]), "tensor(3.)");
        assert_eq!(f32s(&[3.5], &[]), "tensor(3.5000)");
        assert_eq!(i32s(&[7], &[]), "tensor(7, dtype=torch.int32)");
    }

    #[test]
    fn empty() {
        assert_eq!(f32s(&[], &[0]), "tensor([])");
        assert_eq!(f32s(&[], &[0, 3]), "tensor([], size=(0, 3))");
        assert_eq!(i32s(&[], &[0]), "tensor([], dtype=torch.int32)");
    }

    #[test]
    fn arange_2x3x4() {
        let want = concat!(
            "tensor([[[ 0.,  1.,  2.,  3.],\n",
            "         [ 4.,  5.,  6.,  7.],\n",
            "         [ 8.,  9., 10., 11.]],\n",
            "\n",
            "        [[12., 13., 14., 15.],\n",
            "         [16., 17., 18., 19.],\n",
            "         [20., 21., 22., 23.]]])",
        );
        assert_eq!(f32s(&arange(0, 24), &[2, 3, 4]), want);
    }

    #[test]
    fn summarised_1d() {
        // torch.arange(2000.): shown values span 1..1999 (> 1000x) -> sci.
        let want = concat!(
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n",
            "        1.9990e+03])",
        );
        assert_eq!(f32s(&arange(0, 2000), &[2000]), want);
        let want = "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])";
        assert_eq!(f32s(&arange(1000, 3000), &[2000]), want);
        let ints: Vec<i32> = (0..2000).collect();
        let want = "tensor([   0,    1,    2,  ..., 1997, 1998, 1999], dtype=torch.int32)";
        assert_eq!(i32s(&ints, &[2000]), want);
    }

    #[test]
    fn summarised_ones_100x100() {
        let row = "[1., 1., 1.,  ..., 1., 1., 1.]";
        let want = format!(
            "tensor([{row},\n{i}{row},\n{i}{row},\n{i}...,\n{i}{row},\n{i}{row},\n{i}{row}])",
            i = " ".repeat(8)
        );
        assert_eq!(f32s(&vec![1.0; 10_000], &[100, 100]), want);
    }

    #[test]
    fn summarised_3d() {
        let m = "[[1., 1., 1.,  ..., 1., 1., 1.]]";
        let sep = format!(",\n\n{}", " ".repeat(8));
        let want = format!("tensor([{}])", [m, m, m, "...", m, m, m].join(&sep));
        assert_eq!(f32s(&vec![1.0; 1050], &[7, 1, 150]), want);
    }

    #[test]
    fn long_rows_wrap() {
        let want = concat!(
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n",
            "        14., 15., 16., 17., 18., 19.])",
        );
        assert_eq!(f32s(&arange(0, 20), &[20]), want);
        let tenths: Vec<f32> = (0..20u8).map(|i| f32::from(i) / 10.0).collect();
        let want = concat!(
            "tensor([0.0000, 0.1000, 0.2000, 0.3000, 0.4000, 0.5000, 0.6000, 0.7000, 0.8000,\n",
            "        0.9000, 1.0000, 1.1000, 1.2000, 1.3000, 1.4000, 1.5000, 1.6000, 1.7000,\n",
            "        1.8000, 1.9000])",
        );
        assert_eq!(f32s(&tenths, &[20]), want);
    }

    #[test]
    fn int32() {
        let want = "tensor([[1, 2],\n        [3, 4]], dtype=torch.int32)";
        assert_eq!(i32s(&[1, 2, 3, 4], &[2, 2]), want);
        let want = "tensor([-10,   5, 300], dtype=torch.int32)";
        assert_eq!(i32s(&[-10, 5, 300], &[3]), want);
    }

    #[test]
    fn autograd_suffixes() {
        let want = "tensor([1., 2.], requires_grad=True)";
        assert_eq!(with(&[1.0, 2.0], &[2], "requires_grad=True"), want);
        let want = "tensor([3., 5.], grad_fn=<AddBackward0>)";
        assert_eq!(with(&[3.0, 5.0], &[2], "grad_fn=<AddBackward0>"), want);
    }

    #[test]
    fn suffix_moves_to_new_line_when_too_long() {
        let want = concat!(
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n",
            "       requires_grad=True)",
        );
        assert_eq!(with(&arange(0, 14), &[14], "requires_grad=True"), want);
    }

    #[test]
    fn length_mismatch_does_not_panic() {
        assert_eq!(f32s(&[1.0], &[2]), "tensor(<1 values for shape [2]>)");
    }
}
