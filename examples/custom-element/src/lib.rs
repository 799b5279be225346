//! A custom element example.
