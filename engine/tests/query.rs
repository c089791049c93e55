//! Model-based test of `CUSTOMER.QUERY` and `CUSTOMER.COUNT`: random customers and orders,
//! random queries (every operator, nulls, ties, every sortable field both ways) answered by
//! the store and by a brute-force filter and sort over what the store holds; walks of pages
//! with writes between them, where a record that matches and does not change during the walk
//! must come exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crm_engine::query::{ConditionText, Operator, QueryRequest, SortText};
use crm_engine::values::{format_money, format_timestamp};
use crm_engine::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const NAMES: [&str; 5] = [
    "Ada Lovelace",
    "Alan Turing",
    "ada byron",
    "Grace Hopper",
    "Ada",
];
const PHONES: [Option<&str>; 3] = [None, Some("+15550100"), Some("+15550199")];
const ADDRESSES: [Option<&str>; 3] = [None, Some("1 Main St"), Some("2 Elm Road")];
const TIMES: [i64; 3] = [1_700_000_000, 1_710_000_000, 1_720_000_000];

/// A value as the model compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    N(i128),
    T(String),
}

/// Every queried field of every customer, from the store's own reads.
fn model(store: &Store) -> BTreeMap<u64, BTreeMap<&'static str, Option<V>>> {
    let rollups: BTreeMap<u64, CustomerRollup> =
        store.customer_rollups().unwrap().into_iter().collect();
    store
        .customers(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|c| {
            let r = rollups.get(&c.id).copied().unwrap_or_default();
            let mut row = BTreeMap::new();
            row.insert("id", Some(V::N(c.id.into())));
            row.insert("name", Some(V::T(c.name.to_lowercase())));
            row.insert("email", Some(V::T(c.email.clone())));
            row.insert("phone", c.phone.clone().map(V::T));
            row.insert(
                "address",
                c.address.as_ref().map(|a| V::T(a.to_lowercase())),
            );
            row.insert("created_at", Some(V::N(c.created_at.into())));
            row.insert("order_count", Some(V::N(r.order_count.into())));
            row.insert("total_amount", Some(V::N(r.total_cents as i128)));
            row.insert("first_order", r.first_order.map(|t| V::N(t.into())));
            row.insert("last_order", r.last_order.map(|t| V::N(t.into())));
            (c.id, row)
        })
        .collect()
}

/// A condition: its request and the model's reading of it.
#[derive(Debug, Clone)]
struct Cond {
    field: &'static str,
    op: Operator,
    /// As the request writes them.
    texts: Vec<String>,
    /// As the model compares them.
    values: Vec<V>,
}

impl Cond {
    fn holds(&self, row: &BTreeMap<&'static str, Option<V>>) -> bool {
        let Some(value) = row[self.field].as_ref() else {
            return self.op == Operator::Missing;
        };
        let first = self.values.first();
        match self.op {
            Operator::Eq => Some(value) == first,
            Operator::Ne => Some(value) != first,
            Operator::Lt => Some(value) < first,
            Operator::Le => Some(value) <= first,
            Operator::Gt => Some(value) > first,
            Operator::Ge => Some(value) >= first,
            Operator::In => self.values.contains(value),
            Operator::Prefix => match (value, first) {
                (V::T(t), Some(V::T(p))) => t.starts_with(p.as_str()),
                _ => false,
            },
            Operator::Word => match (value, first) {
                (V::T(t), Some(V::T(w))) => t.split(' ').any(|word| word == w),
                _ => false,
            },
            Operator::Exists => true,
            Operator::Missing => false,
        }
    }

    fn request(&self) -> ConditionText {
        ConditionText {
            field: self.field.to_string(),
            op: self.op,
            values: self.texts.clone(),
        }
    }
}

/// A value of a field that some record may hold, as text and as the model reads it.
fn some_value(field: &'static str, pick: usize, offset: i64) -> (String, V) {
    match field {
        "id" => {
            let id = pick as i64 % 14 + offset;
            (id.to_string(), V::N(id.into()))
        }
        "name" => {
            let name = NAMES[pick % NAMES.len()];
            (
                format!(" {} ", name.to_uppercase()),
                V::T(name.to_lowercase()),
            )
        }
        "email" => {
            let email = format!("c{}@x.io", pick % 12);
            (email.to_uppercase(), V::T(email))
        }
        "phone" => {
            let phone = PHONES[1 + pick % 2].unwrap();
            (phone.replace('+', ""), V::T(phone.to_string()))
        }
        "address" => {
            let address = ADDRESSES[1 + pick % 2].unwrap();
            (address.to_string(), V::T(address.to_lowercase()))
        }
        "created_at" | "first_order" | "last_order" => {
            let at = TIMES[pick % 3] + offset;
            (format_timestamp(at), V::N(at.into()))
        }
        "order_count" => {
            let n = (pick % 4) as i64 + offset;
            (n.to_string(), V::N(n.into()))
        }
        _ => {
            let cents = (pick % 4) as i64 * 1500 + offset;
            (
                format_money(cents.max(0) as u128),
                V::N(cents.max(0).into()),
            )
        }
    }
}

const FIELDS: [&str; 10] = [
    "id",
    "name",
    "email",
    "phone",
    "address",
    "created_at",
    "order_count",
    "total_amount",
    "first_order",
    "last_order",
];

fn condition() -> impl Strategy<Value = Cond> {
    (
        0..FIELDS.len(),
        0..11usize,
        0..100usize,
        -1i64..=1,
        1..4usize,
    )
        .prop_map(|(f, op, pick, offset, many)| {
            let field = FIELDS[f];
            let ordered = !matches!(field, "name" | "email" | "phone" | "address");
            let textual = !ordered;
            let op = match Operator::ALL[op] {
                Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge if !ordered => {
                    Operator::Eq
                }
                Operator::Prefix if !textual => Operator::Ne,
                Operator::Word if !matches!(field, "name" | "address") => Operator::In,
                op => op,
            };
            let (texts, values) = match op {
                Operator::Exists | Operator::Missing => (vec![], vec![]),
                Operator::In => (0..many)
                    .map(|i| some_value(field, pick + i * 7, offset))
                    .unzip(),
                Operator::Prefix => {
                    let (_, value) = some_value(field, pick, 0);
                    let V::T(full) = value else { unreachable!() };
                    // A phone's prefix needs a digit after its `+` (a lone `+` is an empty
                    // prefix: `INVALID`).
                    let shortest = if field == "phone" { 2 } else { 1 };
                    let cut = full
                        .char_indices()
                        .nth(shortest + pick % 4)
                        .map_or(full.len(), |(i, _)| i);
                    let prefix = full[..cut].trim_end().to_string();
                    let prefix = if prefix.is_empty() {
                        full.clone()
                    } else {
                        prefix
                    };
                    (vec![prefix.to_uppercase()], vec![V::T(prefix)])
                }
                Operator::Word => {
                    let (_, value) = some_value(field, pick, 0);
                    let V::T(full) = value else { unreachable!() };
                    let word = full.split(' ').nth(pick % 2).unwrap_or(&full).to_string();
                    (vec![word.to_uppercase()], vec![V::T(word)])
                }
                _ => {
                    let (text, value) = some_value(field, pick, offset);
                    (vec![text], vec![value])
                }
            };
            Cond {
                field,
                op,
                texts,
                values,
            }
        })
}

/// The brute-force answer: the ids that match, in the query's order.
fn expected(
    rows: &BTreeMap<u64, BTreeMap<&'static str, Option<V>>>,
    conditions: &[Cond],
    sort: &(&'static str, bool),
) -> Vec<u64> {
    let mut matching: Vec<(Option<V>, u64)> = rows
        .iter()
        .filter(|(_, row)| conditions.iter().all(|c| c.holds(row)))
        .map(|(id, row)| (row[sort.0].clone(), *id))
        .collect();
    matching.sort_by(|a, b| {
        let by_value = match (&a.0, &b.0) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if sort.1 => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        };
        by_value.then(a.1.cmp(&b.1))
    });
    matching.into_iter().map(|(_, id)| id).collect()
}

/// A write between pages.
#[derive(Debug, Clone)]
enum Write {
    Add(usize),
    Rename(u64, usize),
    Delete(u64),
    Order(u64, usize),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (0..100usize).prop_map(Write::Add),
        (1..16u64, 0..100usize).prop_map(|(id, n)| Write::Rename(id, n)),
        (1..16u64).prop_map(Write::Delete),
        (1..16u64, 0..100usize).prop_map(|(id, n)| Write::Order(id, n)),
    ]
}

fn open(dir: &std::path::Path) -> Store {
    let options = Options {
        durability: Durability::Periodic,
        ..Options::default()
    };
    Store::open(dir, &KeySource::Key(MasterKey::generate()), &options).unwrap()
}

fn add_customer(store: &Store, n: usize, product: u64) -> u64 {
    let email = format!("c{}@x.io", n % 12 + 12 * (n / 12 % 3));
    let new = NewCustomer::parse(
        NAMES[n % NAMES.len()],
        &email,
        PHONES[n % 3],
        ADDRESSES[n / 3 % 3],
        Some(&format_timestamp(TIMES[n / 2 % 3])),
    );
    let Ok(id) = store.write(Op::AddCustomer(new.unwrap())) else {
        return 0;
    };
    let id = id.id();
    for k in 0..(n % 3) {
        place_order(store, id, product, n + k);
    }
    id
}

fn place_order(store: &Store, customer: u64, product: u64, n: usize) {
    let _ = store.write(Op::AddOrder(NewOrder {
        id: None,
        customer_id: customer,
        product_id: product,
        quantity: (n % 3 + 1) as u32,
        created_at: Some(TIMES[n % 3] + (n % 2) as i64),
        take_stock: false,
    }));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn queries_agree_with_a_brute_force_filter_and_sort(
        customers in prop::collection::vec(0..100usize, 1..14),
        conditions in prop::collection::vec(condition(), 0..4),
        sort_field in 0..FIELDS.len(),
        descending in any::<bool>(),
        sorted in any::<bool>(),
        limit in 1..5usize,
        writes in prop::collection::vec(write(), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let product = store
            .write(Op::AddProduct(NewProduct::parse("Tea", "15", None).unwrap()))
            .unwrap()
            .id();
        for n in &customers {
            add_customer(&store, *n, product);
        }
        let sort_field = if FIELDS[sort_field] == "address" { "phone" } else { FIELDS[sort_field] };
        let sort = if sorted { (sort_field, descending) } else { ("id", false) };
        let request = QueryRequest {
            conditions: conditions.iter().map(Cond::request).collect(),
            sort: sorted.then(|| SortText { field: sort.0.to_string(), descending }),
            limit,
            cursor: None,
        };
        let before = model(&store);
        let answer = expected(&before, &conditions, &sort);
        let count = store.count_customers(&request.conditions).unwrap();
        prop_assert_eq!(count, answer.len() as u64);

        // Without writes, the pages are the answer cut in pages.
        let pages = common::walk_pages(&store, &request, &mut |_| {});
        let flat: Vec<u64> = pages.iter().flatten().copied().collect();
        prop_assert_eq!(&flat, &answer, "conditions {:?} sort {:?}", conditions, sort);
        prop_assert!(pages.iter().rev().skip(1).all(|p| p.len() == limit));

        // With writes between pages, every record that matched and never changed comes once.
        let mut touched: BTreeSet<u64> = BTreeSet::new();
        let mut writes = writes.into_iter();
        let pages = common::walk_pages(&store, &request, &mut |_| {
            let Some(write) = writes.next() else { return };
            match write {
                Write::Add(n) => {
                    touched.insert(add_customer(&store, n, product));
                }
                Write::Rename(id, n) => {
                    let patch = CustomerPatch { name: Some(NAMES[n % NAMES.len()].to_string()), ..CustomerPatch::default() };
                    if store.write(Op::UpdateCustomer(id, patch)).is_ok() {
                        touched.insert(id);
                    }
                }
                Write::Delete(id) => {
                    if store.write(Op::DeleteCustomer(id)).is_ok() {
                        touched.insert(id);
                    }
                }
                Write::Order(id, n) => {
                    place_order(&store, id, product, n);
                    touched.insert(id);
                }
            }
        });
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for id in pages.iter().flatten() {
            *seen.entry(*id).or_default() += 1;
        }
        for id in answer.iter().filter(|id| !touched.contains(id)) {
            prop_assert_eq!(seen.get(id).copied(), Some(1), "id {} in {:?}", id, pages);
        }
        let after = model(&store);
        for id in seen.keys().filter(|id| !touched.contains(id)) {
            prop_assert!(answer.contains(id), "{} does not match", id);
        }
        // The answer now is the store's answer now.
        prop_assert_eq!(
            store.count_customers(&request.conditions).unwrap(),
            expected(&after, &conditions, &sort).len() as u64
        );
    }
}
