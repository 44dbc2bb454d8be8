//! Destinations that keep every key of a target in one secret holding a map (Vault KV, AWS
//! `mode=json`): classifying the items against the map, the warning for keys the env file no
//! longer has, and the single write that replaces the map.

use std::collections::BTreeMap;

use crate::{ApplyReport, Change, ChangeOp, DestError, ItemOutcome, Plan, RemoteName, SecretItem};

/// A map secret's content: key → text value.
pub type TextMap = BTreeMap<String, String>;

/// Each item's op against `remote` (remote names are the keys). Values must be text within
/// `limit` bytes.
pub fn classify(
    remote: &TextMap,
    items: &[SecretItem],
    limit: usize,
) -> Result<Vec<Change>, DestError> {
    let mut changes = Vec::with_capacity(items.len());
    for item in items {
        let v = item.text_value(limit)?;
        let op = match remote.get(&item.key) {
            None => ChangeOp::Create,
            Some(cur) if cur == v => ChangeOp::Unchanged,
            Some(_) => ChangeOp::Update,
        };
        changes.push(Change {
            source_key: Some(item.key.clone()),
            remote: RemoteName(item.key.clone()),
            op,
        });
    }
    Ok(changes)
}

/// The plan warning for keys of `remote` that no item has: they stay unless the run prunes.
/// `place` names the secret (its path, or its name).
pub fn kept_keys_warning(remote: &TextMap, items: &[SecretItem], place: &str) -> Option<String> {
    let extra: Vec<&str> = remote
        .keys()
        .filter(|k| !items.iter().any(|i| &i.key == *k))
        .map(String::as_str)
        .collect();
    (!extra.is_empty()).then(|| {
        format!(
            "{} key(s) {place} are not in the env file and are kept (use --prune to drop them): {}",
            extra.len(),
            extra.join(", ")
        )
    })
}

/// One write of the whole map: the new content, and the op each planned name gets. The ops
/// come from `remote` as read just before the write, not from the plan.
#[derive(Debug)]
pub struct MapWrite {
    /// What the secret will hold.
    pub map: TextMap,
    /// Whether that differs from what it holds now (or the secret does not exist yet).
    pub changed: bool,
    ops: Vec<(RemoteName, ChangeOp)>,
}

impl MapWrite {
    /// `remote` minus the plan's deletions plus every item; `exists` is false when the secret
    /// is absent (then even an empty map is a write).
    pub fn new(
        remote: &TextMap,
        exists: bool,
        plan: &Plan,
        items: &[SecretItem],
        limit: usize,
    ) -> Result<Self, DestError> {
        let deletes = plan.deletions();
        let now = classify(remote, items, limit)?;
        let mut map = remote.clone();
        for d in &deletes {
            map.remove(d.as_str());
        }
        for item in items {
            map.insert(item.key.clone(), item.text_value(limit)?.to_owned());
        }
        let op_of = |name: &RemoteName| {
            if deletes.contains(&name) {
                return ChangeOp::Delete;
            }
            now.iter()
                .find(|c| &c.remote == name)
                .map_or(ChangeOp::Unchanged, |c| c.op)
        };
        let ops = plan
            .changes
            .iter()
            .map(|c| (c.remote.clone(), op_of(&c.remote)))
            .collect();
        Ok(Self {
            changed: !exists || map != *remote,
            map,
            ops,
        })
    }

    /// The report once the write (or the decision not to write) is done: every planned name
    /// done with its op, or failed with the write's error.
    pub fn report(self, written: &Result<(), DestError>) -> ApplyReport {
        ApplyReport {
            outcomes: self
                .ops
                .into_iter()
                .map(|(n, op)| {
                    let out = match written {
                        Ok(()) => ItemOutcome::Ok(op),
                        Err(e) => ItemOutcome::Failed(e.clone().with_key(&n.0)),
                    };
                    (n, out)
                })
                .collect(),
        }
    }
}

impl ApplyReport {
    /// Every change of `plan` failed with `e` (nothing was written).
    pub fn all_failed(plan: &Plan, e: &DestError) -> Self {
        Self {
            outcomes: plan
                .changes
                .iter()
                .map(|c| {
                    let out = ItemOutcome::Failed(e.clone().with_key(&c.remote.0));
                    (c.remote.clone(), out)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DestErrorKind, SecretBytes};

    fn items(kv: &[(&str, &str)]) -> Vec<SecretItem> {
        kv.iter()
            .map(|(k, v)| SecretItem::plain(*k, SecretBytes::from_str_value(v)))
            .collect()
    }

    fn plan(changes: &[(&str, ChangeOp)]) -> Plan {
        Plan {
            changes: changes
                .iter()
                .map(|(n, op)| Change {
                    source_key: Some((*n).into()),
                    remote: RemoteName((*n).into()),
                    op: *op,
                })
                .collect(),
            ..Plan::default()
        }
    }

    #[test]
    fn classifies_merges_and_reports_against_the_fresh_read() {
        let remote = TextMap::from([
            ("A".into(), "1".into()),
            ("B".into(), "2".into()),
            ("OLD".into(), "x".into()),
        ]);
        let it = items(&[("A", "1"), ("B", "3"), ("C", "4")]);
        let ops: Vec<ChangeOp> = classify(&remote, &it, 10)
            .unwrap()
            .iter()
            .map(|c| c.op)
            .collect();
        assert_eq!(
            ops,
            [ChangeOp::Unchanged, ChangeOp::Update, ChangeOp::Create]
        );
        assert!(
            kept_keys_warning(&remote, &it, "at kv/app")
                .unwrap()
                .starts_with("1 key(s) at kv/app")
        );
        assert_eq!(
            kept_keys_warning(&remote, &items(&[("A", ""), ("B", ""), ("OLD", "")]), "x"),
            None
        );

        let p = plan(&[
            ("A", ChangeOp::Upsert),
            ("B", ChangeOp::Upsert),
            ("C", ChangeOp::Upsert),
            ("OLD", ChangeOp::Delete),
        ]);
        let w = MapWrite::new(&remote, true, &p, &it, 10).unwrap();
        assert!(w.changed);
        assert_eq!(w.map.keys().collect::<Vec<_>>(), ["A", "B", "C"]);
        let r = w.report(&Ok(()));
        let got: Vec<_> = r.outcomes.iter().map(|(_, o)| o.clone()).collect();
        assert_eq!(
            got,
            [
                ItemOutcome::Ok(ChangeOp::Unchanged),
                ItemOutcome::Ok(ChangeOp::Update),
                ItemOutcome::Ok(ChangeOp::Create),
                ItemOutcome::Ok(ChangeOp::Delete)
            ]
        );
    }

    #[test]
    fn same_map_is_no_write_unless_the_secret_is_absent_and_errors_fail_every_name() {
        let remote = TextMap::from([("A".into(), "1".into())]);
        let p = plan(&[("A", ChangeOp::Upsert)]);
        assert!(
            !MapWrite::new(&remote, true, &p, &items(&[("A", "1")]), 10)
                .unwrap()
                .changed
        );
        assert!(
            MapWrite::new(&TextMap::new(), false, &plan(&[]), &[], 10)
                .unwrap()
                .changed
        );
        let e = DestError::new(DestErrorKind::Conflict, "cas");
        let r = MapWrite::new(&remote, true, &p, &items(&[("A", "2")]), 10)
            .unwrap()
            .report(&Err(e.clone()));
        assert_eq!(r, ApplyReport::all_failed(&p, &e));
        assert_eq!(r.outcomes[0].1, ItemOutcome::Failed(e.with_key("A")));
        // a value over the limit refuses the whole write before anything is merged
        assert!(MapWrite::new(&remote, true, &p, &items(&[("A", "12345")]), 4).is_err());
    }
}
