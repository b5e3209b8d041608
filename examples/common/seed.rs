//! The small examples' one flag, and PyTorch's way of printing a shape.

/// `--seed N` (default 0) as the only flag of `program`.
pub fn parse_seed(program: &str) -> Result<u64, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(0),
        [flag, n] if flag == "--seed" => n
            .parse()
            .map_err(|_| format!("--seed {n:?} is not a valid number")),
        other => Err(format!(
            "unknown arguments {other:?}; usage: {program} [--seed N]"
        )),
    }
}

/// `torch.Size([3, 4])`.
pub fn torch_size(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("torch.Size([{}])", dims.join(", "))
}
