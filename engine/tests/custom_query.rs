//! Model-based test of queries on custom fields: a random schema (one to four fields of random
//! types, each indexed or not, personal or not), random customers with random values (nulls among them), and
//! random conditions and sorts on those fields, answered by the store — walking its pages by
//! cursor — and by a brute-force filter and sort over the values written; then walked again
//! with random writes between its pages (a value set or cleared, a customer added or deleted),
//! where every customer that matched and was not touched must come exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crm_engine::query::{ConditionText, Operator, QueryRequest, SortText};
use crm_engine::schema::{CustomGiven, CustomType, FieldDeclaration};
use crm_engine::*;
use proptest::prelude::*;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

const WORDS: [&str; 6] = ["alpha", "Beta", "alpha beta", "gamma", "Alpha", "delta"];
const CHOICES: [&str; 3] = ["Lead", "Customer", "Churned"];

/// A custom field of the random schema: its type (0 text, 1 integer, 2 bool, 3 choice, 4
/// date), whether it is indexed, and whether it is personal.
#[derive(Debug, Clone, Copy)]
struct Field {
    ty: usize,
    indexed: bool,
    personal: bool,
}

impl Field {
    fn custom_type(self) -> CustomType {
        match self.ty {
            0 => CustomType::Text,
            1 => CustomType::Integer,
            2 => CustomType::Bool,
            3 => CustomType::Choice(CHOICES.iter().map(|c| c.to_string()).collect()),
            _ => CustomType::Date,
        }
    }

    /// The `pick`th value as a request gives it, and as the model compares it.
    fn value(self, pick: usize) -> (String, M) {
        match self.ty {
            0 => {
                let word = WORDS[pick % WORDS.len()];
                (word.to_string(), M::T(word.to_lowercase()))
            }
            1 => {
                let n = (pick % 7) as i64 - 3;
                (n.to_string(), M::N(n.into()))
            }
            2 => {
                let truth = pick % 2 == 1;
                (["no", "yes"][usize::from(truth)].to_string(), M::B(truth))
            }
            3 => {
                let at = pick % CHOICES.len();
                (CHOICES[at].to_lowercase(), M::N(at as i128))
            }
            _ => {
                let seconds = 1_700_000_000 + (pick % 5) as i64 * 86_400;
                (values::format_timestamp(seconds), M::N(seconds.into()))
            }
        }
    }
}

/// A value as the model compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum M {
    N(i128),
    T(String),
    B(bool),
}

/// A condition on field `field`: (operator, the values given, as the model has them).
#[derive(Debug, Clone)]
struct Cond {
    field: usize,
    op: Operator,
    picks: Vec<usize>,
}

fn name(field: usize) -> String {
    format!("f{field}")
}

fn holds(cond: &Cond, fields: &[Field], value: Option<&M>) -> bool {
    let field = fields[cond.field];
    let given: Vec<M> = cond.picks.iter().map(|p| field.value(*p).1).collect();
    match (cond.op, value) {
        (Operator::Exists, v) => v.is_some(),
        (Operator::Missing, v) => v.is_none(),
        (_, None) => false,
        (Operator::Eq, Some(v)) => *v == given[0],
        (Operator::Ne, Some(v)) => *v != given[0],
        (Operator::Lt, Some(v)) => *v < given[0],
        (Operator::Le, Some(v)) => *v <= given[0],
        (Operator::Gt, Some(v)) => *v > given[0],
        (Operator::Ge, Some(v)) => *v >= given[0],
        (Operator::In, Some(v)) => given.contains(v),
        (Operator::Prefix, Some(M::T(v))) => match &given[0] {
            M::T(prefix) => v.starts_with(&prefix[..prefix.len().min(3)]),
            _ => false,
        },
        (op, v) => panic!("{op:?} on {v:?} is not generated"),
    }
}

/// An operator the field's type takes.
fn operator(field: Field, pick: usize) -> Operator {
    let ordered = matches!(field.ty, 1 | 4);
    let mut ops = vec![
        Operator::Eq,
        Operator::Ne,
        Operator::In,
        Operator::Exists,
        Operator::Missing,
    ];
    if ordered {
        ops.extend([Operator::Lt, Operator::Le, Operator::Gt, Operator::Ge]);
    }
    if field.ty == 0 {
        ops.push(Operator::Prefix);
    }
    ops[pick % ops.len()]
}

fn request_of(cond: &Cond, fields: &[Field]) -> ConditionText {
    let field = fields[cond.field];
    let values = match cond.op {
        Operator::Exists | Operator::Missing => Vec::new(),
        Operator::Prefix => {
            let (text, _) = field.value(cond.picks[0]);
            vec![text[..text.len().min(3)].to_uppercase()]
        }
        Operator::In => cond.picks.iter().map(|p| field.value(*p).0).collect(),
        _ => vec![field.value(cond.picks[0]).0],
    };
    ConditionText {
        field: name(cond.field).to_uppercase(),
        op: cond.op,
        values,
    }
}

/// Nulls last in both directions, ties by id ascending.
fn order(a: &(Option<M>, u64), b: &(Option<M>, u64), descending: bool) -> Ordering {
    let by_value = match (&a.0, &b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if descending => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    };
    by_value.then(a.1.cmp(&b.1))
}

/// A write between pages: field `field` of the `at`th customer set to the `pick`th value (or
/// cleared), a customer added with that value, or the `at`th customer deleted.
#[derive(Debug, Clone)]
enum Write {
    Set {
        at: usize,
        field: usize,
        pick: Option<usize>,
    },
    Add {
        field: usize,
        pick: usize,
    },
    Delete {
        at: usize,
    },
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (0..20usize, 0..4usize, prop::option::of(0..40usize))
            .prop_map(|(at, field, pick)| Write::Set { at, field, pick }),
        (0..4usize, 0..40usize).prop_map(|(field, pick)| Write::Add { field, pick }),
        (0..20usize).prop_map(|at| Write::Delete { at }),
    ]
}

/// The store's customer with field `at` given `pick`'s value (`None`: cleared).
fn give(
    store: &Store,
    fields: &[Field],
    custom: &mut CustomGiven,
    at: usize,
    pick: Option<usize>,
) -> Option<M> {
    let declared = store
        .catalog()
        .field(Kind::Customer, &name(at))
        .unwrap()
        .clone();
    let value = pick.map(|p| fields[at].value(p));
    custom.give(
        declared.id,
        value
            .as_ref()
            .and_then(|(text, _)| declared.read(text).unwrap()),
    );
    value.map(|(_, m)| m)
}

/// The ids matching `conditions` in `model`, in the order `sort` asks.
fn answer(
    model: &BTreeMap<u64, Vec<Option<M>>>,
    fields: &[Field],
    conditions: &[Cond],
    sort: Option<(usize, bool)>,
) -> Vec<u64> {
    let mut expected: Vec<(Option<M>, u64)> = model
        .iter()
        .filter(|(_, values)| {
            conditions
                .iter()
                .all(|c| holds(c, fields, values[c.field].as_ref()))
        })
        .map(|(id, values)| (sort.and_then(|(f, _)| values[f].clone()), *id))
        .collect();
    let descending = sort.is_some_and(|(_, d)| d);
    expected.sort_by(|a, b| order(a, b, descending));
    expected.into_iter().map(|(_, id)| id).collect()
}

fn schema() -> impl Strategy<Value = Vec<Field>> {
    prop::collection::vec(
        (0..5usize, any::<bool>(), any::<bool>()).prop_map(|(ty, indexed, personal)| Field {
            ty,
            indexed,
            personal,
        }),
        1..5,
    )
}

/// Customers per field: `None` unset, else the value picked.
type Rows = Vec<Vec<Option<usize>>>;

/// One case: a schema, its customers' values, conditions (field, operator pick, value
/// picks), a sort (field, descending), a page size, whether the indexes are turned on after
/// the records are written, and the writes made between pages.
struct Case {
    fields: Vec<Field>,
    rows: Rows,
    conditions: Vec<Cond>,
    sort: Option<(usize, bool)>,
    limit: usize,
    index_after: bool,
    writes: Vec<Write>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn queries_on_custom_fields_agree_with_a_brute_force_filter_and_sort(
        fields in schema(),
        rows in prop::collection::vec(prop::collection::vec(prop::option::of(0..40usize), 4), 1..12),
        conditions in prop::collection::vec((0..4usize, 0..40usize, prop::collection::vec(0..40usize, 1..4)), 0..3),
        sort in prop::option::of((0..4usize, any::<bool>())),
        limit in 1..5usize,
        index_after in any::<bool>(),
        writes in prop::collection::vec(write(), 0..10),
    ) {
        let conditions = conditions
            .into_iter()
            .map(|(f, op, picks)| {
                let field = f % fields.len();
                Cond { field, op: operator(fields[field], op), picks }
            })
            .collect();
        let sort = sort.map(|(f, descending)| (f % fields.len(), descending));
        check(Case { fields, rows, conditions, sort, limit, index_after, writes })?;
    }

    /// Ranges, points and `IN`s on one indexed integer field, in id order: the pages merged
    /// from the few values' ids in the index (`query/narrow.rs`), which the general case
    /// seldom draws.
    #[test]
    fn ranges_of_one_indexed_field_in_id_order_agree_with_a_brute_force_filter(
        rows in prop::collection::vec(prop::collection::vec(prop::option::of(0..40usize), 4), 1..40),
        conditions in prop::collection::vec((0..6usize, prop::collection::vec(0..40usize, 1..4)), 1..3),
        limit in 1..5usize,
        index_after in any::<bool>(),
        writes in prop::collection::vec(write(), 0..10),
    ) {
        let fields = vec![Field { ty: 1, indexed: true, personal: false }];
        let ops = [Operator::Eq, Operator::In, Operator::Lt, Operator::Le, Operator::Gt, Operator::Ge];
        let conditions = conditions
            .into_iter()
            .map(|(op, picks)| Cond { field: 0, op: ops[op], picks })
            .collect();
        check(Case { fields, rows, conditions, sort: None, limit, index_after, writes })?;
    }
}

/// The store's pages and counts of one case against the model's, then again with the writes
/// between pages.
fn check(case: Case) -> Result<(), TestCaseError> {
    let Case {
        fields,
        rows,
        conditions,
        sort,
        limit,
        index_after,
        writes,
    } = case;
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_with(dir.path(), &MasterKey::generate());
    for (at, field) in fields.iter().enumerate() {
        let declaration = FieldDeclaration {
            kind: Kind::Customer,
            name: name(at),
            ty: field.custom_type(),
            personal: field.personal,
            indexed: field.indexed && !index_after,
        };
        store.write(Op::DeclareField(declaration)).unwrap();
    }
    let mut model: BTreeMap<u64, Vec<Option<M>>> = BTreeMap::new();
    for (n, row) in rows.iter().enumerate() {
        let mut new = NewCustomer::parse(
            &format!("P {n}"),
            &format!("p{n}@x.example"),
            None,
            None,
            None,
        )
        .unwrap();
        let catalog = store.catalog();
        let mut values = Vec::new();
        for (at, field) in fields.iter().enumerate() {
            let pick = row[at];
            let value = pick.map(|p| field.value(p));
            if let Some((text, _)) = &value {
                let declared = catalog.field(Kind::Customer, &name(at)).unwrap();
                new.custom.give(declared.id, declared.read(text).unwrap());
            }
            values.push(value.map(|(_, m)| m));
        }
        let id = store.write(Op::AddCustomer(new)).unwrap().id();
        model.insert(id, values);
    }
    if index_after {
        // Indexes turned on with the records already there.
        for (at, field) in fields.iter().enumerate() {
            if field.indexed {
                store
                    .write(Op::IndexField {
                        kind: Kind::Customer,
                        name: name(at),
                        on: true,
                    })
                    .unwrap();
            }
        }
    }
    let expected = answer(&model, &fields, &conditions, sort);

    let request = QueryRequest {
        conditions: conditions.iter().map(|c| request_of(c, &fields)).collect(),
        sort: sort.map(|(f, descending)| SortText {
            field: name(f),
            descending,
        }),
        limit,
        cursor: None,
    };
    let flat: Vec<u64> = common::walk_pages(&store, &request, &mut |_| {})
        .into_iter()
        .flatten()
        .collect();
    prop_assert_eq!(&flat, &expected);
    prop_assert_eq!(
        store.count_customers(&request.conditions).unwrap(),
        expected.len() as u64
    );
    // A query on indexed fields only is answered from memory.
    let all_indexed = conditions.iter().all(|c| fields[c.field].indexed)
        && sort.is_none_or(|(f, _)| fields[f].indexed);
    if all_indexed && (!conditions.is_empty() || sort.is_some()) {
        prop_assert!(!store.query_scans(Kind::Customer, &request).unwrap());
    }

    // Walked again with writes between the pages: whatever matched and was not touched
    // comes exactly once, nothing untouched that does not match comes at all.
    let mut touched: BTreeSet<u64> = BTreeSet::new();
    let mut writes = writes.into_iter();
    let mut after = model.clone();
    let pages = common::walk_pages(&store, &request, &mut |_| {
        let Some(write) = writes.next() else { return };
        let ids: Vec<u64> = after.keys().copied().collect();
        match write {
            Write::Set { at, field, pick } => {
                let Some(&id) = ids.get(at % ids.len().max(1)) else {
                    return;
                };
                let field = field % fields.len();
                let mut patch = CustomerPatch::default();
                let value = give(&store, &fields, &mut patch.custom, field, pick);
                store.write(Op::UpdateCustomer(id, patch)).unwrap();
                after.get_mut(&id).unwrap()[field] = value;
                touched.insert(id);
            }
            Write::Add { field, pick } => {
                let field = field % fields.len();
                let n = 1000 + after.len() + touched.len();
                let mut new = NewCustomer::parse(
                    &format!("Q {n}"),
                    &format!("q{n}@x.example"),
                    None,
                    None,
                    None,
                )
                .unwrap();
                let value = give(&store, &fields, &mut new.custom, field, Some(pick));
                let id = store.write(Op::AddCustomer(new)).unwrap().id();
                let mut values = vec![None; fields.len()];
                values[field] = value;
                after.insert(id, values);
                touched.insert(id);
            }
            Write::Delete { at } => {
                let Some(&id) = ids.get(at % ids.len().max(1)) else {
                    return;
                };
                store.write(Op::DeleteCustomer(id)).unwrap();
                after.remove(&id);
                touched.insert(id);
            }
        }
    });
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for id in pages.iter().flatten() {
        *seen.entry(*id).or_default() += 1;
    }
    for id in expected.iter().filter(|id| !touched.contains(id)) {
        prop_assert_eq!(seen.get(id).copied(), Some(1), "id {} in {:?}", id, pages);
    }
    for id in seen.keys().filter(|id| !touched.contains(id)) {
        prop_assert!(expected.contains(id), "{} does not match", id);
    }
    // The answer now is the store's answer now.
    let now = answer(&after, &fields, &conditions, sort);
    let flat: Vec<u64> = common::walk_pages(&store, &request, &mut |_| {})
        .into_iter()
        .flatten()
        .collect();
    prop_assert_eq!(flat, now.clone());
    prop_assert_eq!(
        store.count_customers(&request.conditions).unwrap(),
        now.len() as u64
    );
    store.check_consistency().unwrap();
    Ok(())
}
