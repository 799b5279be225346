//! Click's configuration-argument parsing (see issue: Args).
