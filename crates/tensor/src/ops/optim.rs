//! Placeholder: optimizer update kernels are being written.
