//! Hand-made histories, linearizable and not.

use pretty_assertions::assert_eq;

use crate::*;

/// Builds histories with explicit times.
#[derive(Default)]
struct H(Vec<Op>);

impl H {
    fn op(mut self, client: u64, call: Call, span: (u64, Option<u64>), outcome: Outcome) -> Self {
        let id = self.0.len();
        self.0.push(Op {
            id,
            client,
            call,
            invoke: span.0,
            complete: span.1,
            outcome,
        });
        self
    }

    fn put(self, client: u64, key: &str, value: &str, from: u64, to: u64) -> Self {
        self.op(client, put(key, value), (from, Some(to)), ok())
    }

    fn get(self, client: u64, key: &str, read: Option<&str>, from: u64, to: u64) -> Self {
        let read = Read::Value(read.map(Bytes::from));
        self.op(
            client,
            get(key),
            (from, Some(to)),
            Outcome::Ok { read: Some(read) },
        )
    }

    fn history(self) -> History {
        History { ops: self.0 }
    }
}

fn put(key: &str, value: &str) -> Call {
    Call::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> Call {
    Call::Get { key: key.into() }
}

fn ok() -> Outcome {
    Outcome::Ok { read: None }
}

fn scan(start: &str, end: &str) -> Call {
    Call::Scan {
        start: start.into(),
        end: end.into(),
    }
}

fn pairs(kvs: &[(&str, &str)]) -> Outcome {
    Outcome::Ok {
        read: Some(Read::Pairs(
            kvs.iter().map(|(k, v)| Pair::new(*k, *v)).collect(),
        )),
    }
}

fn witness_ids(v: &Violation) -> Vec<usize> {
    v.witness.iter().map(|op| op.id).collect()
}

#[test]
fn sequential_reads_of_the_last_write() {
    let h = H::default()
        .get(1, "k", None, 0, 5)
        .put(1, "k", "1", 10, 20)
        .get(2, "k", Some("1"), 30, 40)
        .put(2, "k", "2", 50, 60)
        .get(1, "k", Some("2"), 70, 80)
        .history();
    let s = check(&h).unwrap();
    assert_eq!((s.keys, s.key_ops), (1, 5));
}

#[test]
fn a_stale_read_is_caught_with_its_witness() {
    let h = H::default()
        .put(1, "k", "1", 0, 10)
        .put(1, "k", "2", 20, 30)
        .get(2, "k", Some("1"), 40, 50)
        .history();
    let v = check(&h).unwrap_err();
    assert_eq!(v.key, "k".into());
    assert!(witness_ids(&v).contains(&2), "{v}");
    assert!(witness_ids(&v).contains(&1), "{v}");
    assert!(v.to_string().contains("get \"k\" -> \"1\""), "{v}");
}

#[test]
fn a_read_overlapping_a_write_may_see_either_value() {
    for seen in ["1", "2"] {
        let h = H::default()
            .put(1, "k", "1", 0, 5)
            .put(1, "k", "2", 10, 100)
            .get(2, "k", Some(seen), 20, 30)
            .history();
        assert!(check(&h).is_ok(), "read {seen}");
    }
}

#[test]
fn reads_may_not_go_back_in_time_between_readers() {
    // A sees the new value, then B (starting after A returned) the old one.
    let h = H::default()
        .put(1, "k", "1", 0, 5)
        .put(1, "k", "2", 10, 100)
        .get(2, "k", Some("2"), 20, 30)
        .get(3, "k", Some("1"), 40, 50)
        .history();
    assert!(check(&h).is_err());
}

#[test]
fn a_value_never_written_is_a_violation() {
    let h = H::default()
        .put(1, "k", "1", 0, 5)
        .get(2, "k", Some("9"), 10, 20)
        .history();
    let v = check(&h).unwrap_err();
    assert!(witness_ids(&v).contains(&1), "{v}");
}

#[test]
fn an_unknown_write_may_apply_late_or_never() {
    let base = || {
        H::default()
            .put(1, "k", "1", 0, 10)
            .op(1, put("k", "2"), (20, None), Outcome::Unknown)
            .put(2, "k", "3", 30, 40)
    };
    // Late: after the write that completed after it was sent.
    assert!(check(&base().get(3, "k", Some("2"), 50, 60).history()).is_ok());
    // Never.
    assert!(check(&base().get(3, "k", Some("3"), 50, 60).history()).is_ok());
    // But once seen gone, it cannot come back unless it applied late: 2 then
    // 3 is fine (2 applied between), 3 then 2 too (2 applied after 3).
    let h = base()
        .get(3, "k", Some("3"), 50, 60)
        .get(3, "k", Some("2"), 70, 80)
        .get(3, "k", Some("3"), 90, 95)
        .history();
    assert!(check(&h).is_err(), "3, 2, 3 needs the write of 3 twice");
}

#[test]
fn a_failed_write_never_shows() {
    let h = H::default()
        .put(1, "k", "1", 0, 10)
        .op(1, put("k", "2"), (20, Some(30)), Outcome::Failed)
        .get(2, "k", Some("2"), 40, 50)
        .history();
    assert!(check(&h).is_err());
}

#[test]
fn unknown_reads_say_nothing() {
    let h = H::default()
        .put(1, "k", "1", 0, 10)
        .op(2, get("k"), (20, None), Outcome::Unknown)
        .history();
    assert_eq!(check(&h).unwrap().key_ops, 1);
}

#[test]
fn deletes_make_keys_absent() {
    let base = || {
        H::default().put(1, "k", "1", 0, 10).op(
            1,
            Call::Delete { key: "k".into() },
            (20, Some(30)),
            ok(),
        )
    };
    assert!(check(&base().get(2, "k", None, 40, 50).history()).is_ok());
    assert!(check(&base().get(2, "k", Some("1"), 40, 50).history()).is_err());
}

#[test]
fn scans_are_reads_of_every_key_in_range() {
    let base = || {
        H::default()
            .put(1, "a", "1", 0, 10)
            .put(1, "b", "2", 20, 30)
            .put(1, "z", "3", 20, 30)
    };
    let good = base().op(
        2,
        scan("a", "c"),
        (40, Some(50)),
        pairs(&[("a", "1"), ("b", "2")]),
    );
    assert_eq!(check(&good.history()).unwrap().key_ops, 3 + 2);
    // b was written before the scan began: leaving it out is a stale read.
    let missing = base().op(2, scan("a", "c"), (40, Some(50)), pairs(&[("a", "1")]));
    let v = check(&missing.history()).unwrap_err();
    assert_eq!(v.key, "b".into());
    // An empty end scans to the end of the key space.
    let all = base().op(
        2,
        scan("", ""),
        (40, Some(50)),
        pairs(&[("a", "1"), ("b", "2"), ("z", "3")]),
    );
    assert!(check(&all.history()).is_ok());
}

#[test]
fn scans_across_key_batches_are_checked_in_each() {
    // Batches of 1,000 per-key operations, 5,000 of them here (a put and
    // a scan's read per key), and scans spanning every batch; checked on
    // one thread and on three, with the same answers.
    for threads in [1, 3] {
        let check = |h: &History| crate::check::check_in_batches(h, 1_000, threads);
        let n = 2_500;
        let keys: Vec<String> = (0..n).map(|i| format!("k{i:05}")).collect();
        let puts = || {
            keys.iter()
                .fold(H::default(), |h, key| h.put(1, key, "v", 0, 10))
        };
        let all: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
        let good = puts().op(2, scan("", ""), (20, Some(30)), pairs(&all));
        let summary = check(&good.history()).unwrap();
        assert_eq!((summary.keys, summary.key_ops), (n, 2 * n));

        // The same scan missing one key of the last batch, and one more key
        // the scan returned but no one wrote: both are caught.
        let missing = puts().op(2, scan("", ""), (20, Some(30)), pairs(&all[..n - 1]));
        let v = check(&missing.history()).unwrap_err();
        assert_eq!(v.key, keys[n - 1].as_str().into());
        let invented = H::default().put(1, "a", "1", 0, 10).op(
            2,
            scan("", ""),
            (20, Some(30)),
            pairs(&[("a", "1"), ("b", "2")]),
        );
        assert_eq!(check(&invented.history()).unwrap_err().key, "b".into());

        // Keys missing from the first and the last batch: the first key's
        // violation is the one reported, whichever thread meets which.
        let mut gaps = all.clone();
        gaps.remove(n - 1);
        gaps.remove(10);
        let two = puts().op(2, scan("", ""), (20, Some(30)), pairs(&gaps));
        assert_eq!(
            check(&two.history()).unwrap_err().key,
            keys[10].as_str().into()
        );
    }
}

#[test]
fn each_key_is_bounded_by_the_operations_that_can_reach_it() {
    let h = H::default()
        .put(1, "a", "1", 0, 10)
        .put(1, "c", "3", 0, 10)
        .get(2, "c", Some("3"), 20, 30)
        .op(
            2,
            scan("a", "c"),
            (20, Some(30)),
            pairs(&[("a", "1"), ("b", "2")]),
        )
        .op(
            3,
            scan("b", ""),
            (20, Some(30)),
            pairs(&[("b", "2"), ("c", "3")]),
        )
        .history();
    let ops: Vec<(&Op, u64)> = h.ops.iter().map(|op| (op, 0)).collect();
    let keys: Vec<Bytes> = ["a", "b", "c"].into_iter().map(Bytes::from).collect();
    let keys: Vec<&Bytes> = keys.iter().collect();
    // a: its put and the first scan; b: both scans; c: put, get, second scan.
    assert_eq!(crate::check::key_op_bounds(&ops, &keys), vec![2, 2, 3]);
}

#[test]
fn malformed_scans_are_reported() {
    let out_of_range = H::default().put(1, "a", "1", 0, 10).op(
        2,
        scan("b", "c"),
        (20, Some(30)),
        pairs(&[("a", "1")]),
    );
    let v = check(&out_of_range.history()).unwrap_err();
    assert!(v.reason.contains("outside its range"), "{v}");
    let unordered = H::default().op(
        2,
        scan("", ""),
        (20, Some(30)),
        pairs(&[("b", "1"), ("a", "1")]),
    );
    assert!(check(&unordered.history()).is_err());
}

#[test]
fn keys_are_checked_independently() {
    let h = H::default()
        .put(1, "a", "1", 0, 10)
        .put(2, "b", "1", 0, 10)
        .put(1, "a", "2", 20, 30)
        .get(2, "b", Some("1"), 40, 50)
        .get(2, "a", Some("1"), 40, 50)
        .history();
    let v = check(&h).unwrap_err();
    assert_eq!(v.key, "a".into());
}

/// A long history of several clients whose operations overlap, made from
/// a real register (each operation takes effect at a point inside its
/// span): it must pass, and quickly.
#[test]
fn long_overlapping_histories_pass_quickly() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let keys = ["a", "b", "c"];
    let mut values: std::collections::HashMap<&str, Option<String>> =
        keys.iter().map(|k| (*k, None)).collect();
    let mut ops = Vec::new();
    // Each step picks a client operation taking effect at time t; its span
    // reaches a little before and after t, so neighbours overlap.
    for i in 0..3000u64 {
        let t = i * 10;
        let key = keys[(rand() % 3) as usize];
        let (call, outcome) = if rand() % 2 == 0 {
            let v = format!("v{i}");
            values.insert(key, Some(v.clone()));
            (put(key, &v), ok())
        } else {
            let read = values[key].as_deref().map(Bytes::from);
            (
                get(key),
                Outcome::Ok {
                    read: Some(Read::Value(read)),
                },
            )
        };
        ops.push(Op {
            id: ops.len(),
            client: i % 4,
            call,
            invoke: t - (rand() % 15).min(t),
            complete: Some(t + rand() % 15),
            outcome,
        });
    }
    ops.sort_by_key(|op| op.invoke);
    for (i, op) in ops.iter_mut().enumerate() {
        op.id = i;
    }
    let start = std::time::Instant::now();
    let s = check(&History { ops }).unwrap();
    assert_eq!(s.key_ops, 3000);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

#[test]
fn recorder_notes_times_and_outcomes() {
    let rec = Recorder::default();
    let a = rec.invoke(1, put("k", "1"));
    let b = rec.invoke(2, get("k"));
    rec.ok(a, None);
    rec.unknown(b);
    let c = rec.invoke(3, put("k", "2"));
    rec.failed(c);
    let d = rec.invoke(3, put("k", "3"));
    let h = rec.history();
    assert_eq!(h.ops.len(), 4);
    assert!(h.ops.iter().enumerate().all(|(i, op)| op.id == i));
    assert!(h.ops[0].complete.unwrap() >= h.ops[0].invoke);
    assert_eq!(h.ops[1].outcome, Outcome::Unknown);
    assert_eq!(h.ops[2].outcome, Outcome::Failed);
    assert_eq!(h.ops[3].complete, None, "{d:?} never ended");
    assert!(check(&h).is_ok());
}

#[test]
fn the_recorder_keeps_one_copy_of_each_key_and_value() {
    let rec = Recorder::default();
    let w = rec.invoke(1, put("k", "v"));
    rec.ok(w, None);
    let r = rec.invoke(2, scan("", ""));
    rec.ok(r, Some(Read::Pairs(vec![Pair::new("k", "v")])));
    let r = rec.invoke(3, scan("", ""));
    let mut raw = RawPairs::default();
    raw.push(b"k", b"v");
    raw.push(b"", b"w");
    rec.ok_pairs(r, &raw);
    let h = rec.take_history();
    let Call::Put { key, value } = &h.ops[0].call else {
        panic!("a put: {:?}", h.ops[0]);
    };
    let Outcome::Ok {
        read: Some(Read::Pairs(read)),
    } = &h.ops[1].outcome
    else {
        panic!("a scan's pairs: {:?}", h.ops[1]);
    };
    assert!(key.shares(read[0].key()));
    assert!(value.shares(read[0].value()));
    let Outcome::Ok {
        read: Some(Read::Pairs(raw_read)),
    } = &h.ops[2].outcome
    else {
        panic!("a scan's pairs: {:?}", h.ops[2]);
    };
    assert_eq!(raw_read, &vec![Pair::new("k", "v"), Pair::new("", "w")]);
    // One pair, kept once for both scans that read it.
    assert!(std::ptr::eq(read[0].key(), raw_read[0].key()));
    // Taken, not copied: the recorder starts again empty.
    assert!(rec.history().ops.is_empty());
}

#[test]
fn histories_round_trip_through_json_lines() {
    let h = H::default()
        .put(1, "k", "1", 0, 10)
        .op(
            2,
            Call::Put {
                key: Bytes::from(vec![0xff, 0x00]),
                value: Bytes::from(vec![0x80]),
            },
            (5, None),
            Outcome::Unknown,
        )
        .op(3, scan("", ""), (20, Some(30)), pairs(&[("k", "1")]))
        .get(3, "k", None, 1, 2)
        .history();
    let dir = std::env::temp_dir().join(format!("lincheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h.jsonl");
    write_jsonl(&h, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(r#""op":"put","key":"k""#),
        "{text}"
    );
    assert_eq!(read_jsonl(&path).unwrap(), h);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rescan_shares_the_pairs_it_has_in_common_with_the_last_scan() {
    let rec = Recorder::default();
    let raw = |pairs: &[(&str, &str)]| {
        let mut raw = RawPairs::default();
        for (k, v) in pairs {
            raw.push(k.as_bytes(), v.as_bytes());
        }
        raw
    };
    for pairs in [
        &[("a", "1"), ("b", "2")][..],
        &[("a", "1"), ("b", "2"), ("c", "3")],
        &[("a", "1"), ("b", "9"), ("c", "3")],
        &[("ab", "1")],
    ] {
        let id = rec.invoke(1, scan("", ""));
        rec.ok_pairs(id, &raw(pairs));
    }
    // Another client's scan of the same pairs.
    let id = rec.invoke(2, scan("", ""));
    rec.ok_pairs(id, &raw(&[("a", "1"), ("b", "2")]));
    let h = rec.take_history();
    let read = |i: usize| match &h.ops[i].outcome {
        Outcome::Ok {
            read: Some(Read::Pairs(p)),
        } => p.clone(),
        other => panic!("a scan's pairs: {other:?}"),
    };
    let expected = |pairs: &[(&str, &str)]| -> Vec<Pair> {
        pairs.iter().map(|(k, v)| Pair::new(*k, *v)).collect()
    };
    assert_eq!(read(0), expected(&[("a", "1"), ("b", "2")]));
    assert_eq!(read(1), expected(&[("a", "1"), ("b", "2"), ("c", "3")]));
    assert_eq!(read(2), expected(&[("a", "1"), ("b", "9"), ("c", "3")]));
    assert_eq!(read(3), expected(&[("ab", "1")]));
    assert_eq!(read(4), expected(&[("a", "1"), ("b", "2")]));
    // Held once, whichever way each scan found it.
    assert!(read(0)[1].key().shares(read(2)[1].key()));
    assert!(read(1)[2].value().shares(read(2)[2].value()));
    assert!(std::ptr::eq(read(0)[1].key(), read(4)[1].key()));
    assert!(read(3)[0].value().shares(read(4)[0].value()));
}
