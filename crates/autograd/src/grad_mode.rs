//! `no_grad`: a thread-local switch, as in PyTorch. Inside it ops record
//! nothing, and in-place updates of parameters are allowed.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Restores the previous grad mode when dropped (`with torch.no_grad():`).
#[must_use = "grad mode is restored when the guard is dropped"]
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Turns recording off until the guard is dropped.
    pub fn new() -> NoGradGuard {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        NoGradGuard::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` with recording off (`with torch.no_grad(): ...`).
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _guard = NoGradGuard::new();
    f()
}

/// Runs `f` with recording on, even inside `no_grad` (`torch.enable_grad`).
pub fn enable_grad<T>(f: impl FnOnce() -> T) -> T {
    let previous = GRAD_ENABLED.with(|g| g.replace(true));
    let result = f();
    GRAD_ENABLED.with(|g| g.set(previous));
    result
}
