//! Element panics, contained: a panic in an element's code (a bug: packet
//! contents cannot cause one through the engine's checked accessors) is
//! caught on its scheduler thread, reported with the element and how it was
//! entered, and stops the router cleanly: every thread finishes its round,
//! elements are cleaned up (files flushed), and the run ends with an error
//! instead of a thread dying while the others wait for it forever.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into its message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| message(&*payload))
}

/// The text a panic was raised with.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_both_kinds() {
        assert_eq!(catch(|| panic!("static")), Err::<(), _>("static".into()));
        let n = 3;
        assert_eq!(
            catch(|| panic!("formatted {n}")),
            Err::<(), _>("formatted 3".into())
        );
        assert_eq!(catch(|| 5), Ok(5));
    }
}
