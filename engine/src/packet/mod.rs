//! Packets and batches.
