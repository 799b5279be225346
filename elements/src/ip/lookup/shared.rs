//! One route table for all of an element's instances.
//!
//! A lookup element reached from several scheduler threads has an
//! instance on each ([`Threads::PerThread`](click_engine::Threads)). They
//! share one [`RouteTable`]: lookups read its forwarding table with no
//! lock, and handler writes change it under a mutex that only the control
//! plane takes.
//!
//! The engine delivers every handler write to *every* instance, each on
//! its own thread, between two of its scheduling rounds. The first
//! instance to get a write applies it; the others find it in a log and
//! answer with its result, so a write is applied once and every caller
//! gets the same answer. Deliveries are matched by content and order: the
//! n-th delivery of a given write to an instance is the n-th such write.
//!
//! The deliveries are also the grace period. An instance runs a handler
//! only between its batches, so when it takes a write it holds no pointer
//! into the table from before. Once every instance has taken write k,
//! every lookup that could have seen the groups and hop slots that write k
//! retired has finished, and they are reused. With one instance, the
//! writer is the only reader and reuses them at once.

use super::table::RouteTable;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

/// A write applied by one instance and not yet taken by all.
#[derive(Debug)]
struct Logged {
    /// Hash of the handler name and value.
    fingerprint: u64,
    /// Which instances have taken it.
    taken: Vec<bool>,
    result: Result<(), String>,
    /// What the write stopped using.
    retired: super::dir24::Retired,
}

#[derive(Debug)]
struct Writer {
    table: RouteTable,
    instances: usize,
    log: Vec<Logged>,
}

/// A route table shared by an element's instances.
#[derive(Debug)]
pub struct SharedTable {
    fib: std::sync::Arc<super::dir24::Fib>,
    writer: Mutex<Writer>,
}

fn fingerprint(handler: &str, value: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (handler, value).hash(&mut h);
    h.finish()
}

impl SharedTable {
    /// Shares `table` among `instances` instances (at least one).
    pub fn new(table: RouteTable, instances: usize) -> SharedTable {
        SharedTable {
            fib: table.fib().clone(),
            writer: Mutex::new(Writer {
                table,
                instances: instances.max(1),
                log: Vec::new(),
            }),
        }
    }

    /// The forwarding table, for lookups.
    #[inline(always)]
    pub fn fib(&self) -> &super::dir24::Fib {
        &self.fib
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while writing leaves the table consistent route by
        // route; keep serving it.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the table (handlers).
    pub fn read<R>(&self, f: impl FnOnce(&RouteTable) -> R) -> R {
        f(&self.lock().table)
    }

    /// Instance `instance` takes the write of `value` to `handler`: the
    /// first instance to take it runs `apply`, the others get its result.
    pub fn write(
        &self,
        instance: usize,
        handler: &str,
        value: &str,
        apply: impl FnOnce(&mut RouteTable) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut guard = self.lock();
        let w = &mut *guard;
        if w.instances == 1 {
            let result = apply(&mut w.table);
            let retired = w.table.take_retired();
            w.table.reuse(retired);
            return result;
        }
        let instance = instance.min(w.instances - 1);
        let fp = fingerprint(handler, value);
        if let Some(i) = w
            .log
            .iter()
            .position(|l| l.fingerprint == fp && !l.taken[instance])
        {
            let l = &mut w.log[i];
            l.taken[instance] = true;
            let result = l.result.clone();
            if l.taken.iter().all(|&t| t) {
                let done = w.log.remove(i);
                w.table.reuse(done.retired);
            }
            return result;
        }
        let result = apply(&mut w.table);
        let mut taken = vec![false; w.instances];
        taken[instance] = true;
        let retired = w.table.take_retired();
        w.log.push(Logged {
            fingerprint: fp,
            taken,
            result: result.clone(),
            retired,
        });
        result
    }

    /// Writes waiting for some instance to take them (for tests).
    pub fn pending(&self) -> usize {
        self.lock().log.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::lookup::dir24::FibOptions;
    use crate::ip::lookup::route::Route;
    use crate::ip::lookup::table::{Order, TableOptions};

    fn shared(instances: usize) -> SharedTable {
        let t = RouteTable::new(TableOptions {
            order: Order::Radix,
            fib: FibOptions {
                max_groups: 8,
                huge_pages: false,
            },
        })
        .unwrap();
        SharedTable::new(t, instances)
    }

    fn add(s: &str) -> impl FnOnce(&mut RouteTable) -> Result<(), String> + '_ {
        move |t: &mut RouteTable| {
            t.add(&Route::parse(s, false).unwrap(), false)
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
    }

    #[test]
    fn a_write_is_applied_once_and_answered_to_every_instance() {
        let s = shared(2);
        assert_eq!(
            s.write(1, "add", "10.0.0.0/8 1", add("10.0.0.0/8 1")),
            Ok(())
        );
        assert_eq!(s.pending(), 1);
        // Instance 0 gets the same write: it must not be applied again
        // (that would fail: the route exists).
        assert_eq!(
            s.write(0, "add", "10.0.0.0/8 1", |_| panic!("applied twice")),
            Ok(())
        );
        assert_eq!(s.pending(), 0);
        // A second, distinct write of the same text fails for both.
        let e = s.write(0, "add", "10.0.0.0/8 1", add("10.0.0.0/8 1"));
        assert!(e.is_err());
        assert_eq!(s.write(1, "add", "10.0.0.0/8 1", |_| Ok(())), e);
        assert_eq!(s.read(|t| t.len()), 1);
    }

    #[test]
    fn retired_groups_wait_for_every_instance() {
        let s = shared(2);
        let rm = |t: &mut RouteTable| {
            t.remove(&Route::parse("10.0.0.128/25", true).unwrap())
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        };
        s.write(0, "add", "a", add("10.0.0.128/25 1")).unwrap();
        s.write(1, "add", "a", |_| Ok(())).unwrap();
        s.write(0, "remove", "b", rm).unwrap();
        // Instance 1 may still be looking at the group.
        assert_eq!(s.read(|t| t.groups_in_use()), 0);
        s.write(0, "add", "c", add("10.0.1.128/25 1")).unwrap();
        s.write(1, "remove", "b", |_| Ok(())).unwrap();
        s.write(1, "add", "c", |_| Ok(())).unwrap();
        // The new group could not be the retired one.
        assert_eq!(s.fib().lookup(0x0a00_0081).port(), None);
        assert_eq!(s.fib().lookup(0x0a00_0181).port(), Some(1));
        assert_eq!(s.pending(), 0);
    }
}
