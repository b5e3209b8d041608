//! Placeholder: tests for this family are being written.
