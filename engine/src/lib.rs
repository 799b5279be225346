//! The engine: packets, batches, the element traits, the compiled graph and
//! the per-core schedulers.

pub mod packet;
