//! What Click's sources (InfiniteSource, RatedSource, TimedSource) share:
//! their packet data (DATA, or Click's default text, repeated or cut to
//! LENGTH) and how they stamp the clones of their packet.

use click_engine::packet::Timestamp;
use click_engine::{Batch, Packet};

/// Click's default packet data.
pub(crate) const DEFAULT_DATA: &[u8] =
    b"Random bullshit in a packet, at least 64 bytes long. Well, now it is.";

/// DATA (Click's default text when absent), repeated or cut to `length`
/// bytes when given; zeros when DATA is empty.
pub(crate) fn packet_data(data: Option<&[u8]>, length: Option<usize>) -> Vec<u8> {
    let data = data.unwrap_or(DEFAULT_DATA);
    match length {
        None => data.to_vec(),
        Some(n) if data.is_empty() => vec![0; n],
        Some(n) => data.iter().copied().cycle().take(n).collect(),
    }
}

/// Up to `n` clones of `template` (fewer if the pool runs out), each
/// stamped with `stamp` when given.
pub(crate) fn stamped_clones(
    template: Option<&Packet>,
    n: usize,
    stamp: Option<Timestamp>,
) -> Batch {
    let mut batch = Batch::new();
    if let Some(template) = template {
        template.clone_into(n, &mut batch);
    }
    if let Some(stamp) = stamp {
        for p in batch.iter_mut() {
            p.anno_mut().set_timestamp(stamp);
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_repeats_or_cuts_data() {
        assert_eq!(packet_data(Some(b"ab"), Some(5)), b"ababa");
        assert_eq!(packet_data(Some(b"abcdef"), Some(2)), b"ab");
        assert_eq!(packet_data(Some(b""), Some(3)), [0, 0, 0]);
        assert_eq!(packet_data(None, None), DEFAULT_DATA);
        assert_eq!(packet_data(Some(b"xyz"), None), b"xyz");
    }
}
