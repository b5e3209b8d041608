//! Reductions (owned by the reductions work; placeholder so the module tree is fixed).
