//! The element library.
