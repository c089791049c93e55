//! The seeded demo data generator: realistic customers, products and orders at any size.
//!
//! The same seed and sizes always give the same data, so tests and benchmarks can regenerate
//! what they compare against. Orders follow seasons (more in November and December), favour
//! some customers and products (a long tail, as real shops see), and never predate their
//! customer.

use crate::error::Result;
use crate::model::{NewCustomer, NewOrder, NewProduct};
use crate::schema::{Record, ID};
use crate::store::Store;
use crate::write::Op;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Katherine",
    "Donald",
    "Radia",
    "John",
    "Hedy",
    "Tim",
    "Sophie",
    "José",
    "Zoë",
    "Jean-Luc",
    "Chloé",
    "Björn",
    "Anaïs",
    "Mei",
    "Hiroshi",
    "Priya",
    "Olumide",
    "Fatima",
    "Lars",
    "Ines",
    "Mateo",
    "Amara",
    "Noah",
    "Yuki",
    "Elena",
    "Omar",
    "Leila",
    "Pavel",
    "Siobhan",
    "Tariq",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Johnson",
    "Knuth",
    "Perlman",
    "McCarthy",
    "Lamarr",
    "Berners-Lee",
    "Wilson",
    "García",
    "O'Brien",
    "Müller",
    "Dubois",
    "Nakamura",
    "Sharma",
    "Adeyemi",
    "Haddad",
    "Larsen",
    "Rossi",
    "Novak",
    "Kowalski",
    "Silva",
    "Okafor",
    "Schmidt",
    "Tanaka",
    "Petrov",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "post.example.net",
    "inbox.example.io",
];
const STREETS: &[&str] = &[
    "High St",
    "Station Rd",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Elm Street",
    "Rue de la Paix",
    "Hauptstraße",
];
const CITIES: &[&str] = &[
    "London", "Paris", "Berlin", "Lisbon", "Osaka", "Toronto", "Lagos", "Mumbai", "Oslo", "Madrid",
];
const ADJECTIVES: &[&str] = &[
    "Analytical",
    "Compact",
    "Deluxe",
    "Ergonomic",
    "Portable",
    "Quantum",
    "Rugged",
    "Silent",
    "Smart",
    "Vintage",
    "Wireless",
    "Solar",
];
const NOUNS: &[&str] = &[
    "Engine", "Keyboard", "Lamp", "Notebook", "Kettle", "Backpack", "Speaker", "Monitor", "Chair",
    "Pen", "Camera", "Router", "Drone", "Watch",
];
/// Relative order volume per month, January first: quiet summer, busy end of year.
const MONTH_WEIGHTS: [u32; 12] = [8, 7, 8, 8, 9, 8, 7, 7, 9, 10, 15, 18];

/// The earliest and latest demo times: 2024-01-01 and 2026-11-01, UTC.
const START: i64 = 1_704_067_200;
const END: i64 = 1_793_491_200;

/// Generated demo records, with explicit ids 1..=n of each kind.
#[derive(Debug, Clone)]
pub struct Demo {
    pub customers: Vec<NewCustomer>,
    pub products: Vec<NewProduct>,
    pub orders: Vec<NewOrder>,
}

/// The sizes `--demo` uses: enough to make every screen and statistic interesting.
pub const DEFAULT_SIZES: (usize, usize, usize) = (1_000, 100, 10_000);

/// (customers, products, orders) for a demo of `orders` orders, in the default proportions:
/// 10 orders per customer, 100 per product, 10 to 1,000 products.
pub fn sizes_for(orders: usize) -> (usize, usize, usize) {
    (
        (orders / 10).max(1),
        (orders / 100).clamp(10, 1_000),
        orders,
    )
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// A skewed index in `0..n`: low indexes are chosen much more often (a long tail).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.gen_range(0.0..1.0);
    ((u * u) * n as f64) as usize % n.max(1)
}

/// A time between `from` and [`END`], weighted by month so orders follow the seasons.
fn seasonal_time(rng: &mut StdRng, from: i64) -> i64 {
    loop {
        let at = rng.gen_range(from..END);
        let month =
            chrono::DateTime::from_timestamp(at, 0).map_or(0, |t| chrono::Datelike::month0(&t));
        if rng.gen_range(0..18) < MONTH_WEIGHTS[month as usize] {
            return at;
        }
    }
}

/// Generates `customers`, `products` and `orders` records from `seed`.
pub fn generate(seed: u64, customers: usize, products: usize, orders: usize) -> Demo {
    let mut rng = StdRng::seed_from_u64(seed);
    let customers: Vec<NewCustomer> = (1..=customers as u64)
        .map(|id| {
            let first = pick(&mut rng, FIRST_NAMES);
            let last = pick(&mut rng, LAST_NAMES);
            let local: String = format!("{first}.{last}")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect::<String>()
                .to_lowercase();
            let phone = (rng.gen_range(0..10) < 8)
                .then(|| format!("+1555{:07}", rng.gen_range(0..10_000_000)));
            let address = (rng.gen_range(0..10) < 9).then(|| {
                format!(
                    "{} {}, {}",
                    rng.gen_range(1..300),
                    pick(&mut rng, STREETS),
                    pick(&mut rng, CITIES)
                )
            });
            NewCustomer {
                id: Some(id),
                name: format!("{first} {last}"),
                email: format!("{local}{id}@{}", pick(&mut rng, DOMAINS)),
                phone,
                address,
                created_at: Some(rng.gen_range(START..END - 86_400 * 30)),
                custom: Default::default(),
            }
        })
        .collect();
    let products: Vec<NewProduct> = (1..=products as u64)
        .map(|id| {
            // Log-uniform prices from 1.00 to 2,000.00.
            let price = (100f64 * (2000f64).powf(rng.gen_range(0.0..1.0))).round() as u64;
            NewProduct {
                id: Some(id),
                name: format!(
                    "{} {} {}",
                    pick(&mut rng, ADJECTIVES),
                    pick(&mut rng, NOUNS),
                    id
                ),
                price_cents: price,
                stock: Some(rng.gen_range(0..500)),
                custom: Default::default(),
            }
        })
        .collect();
    let orders: Vec<NewOrder> = if customers.is_empty() || products.is_empty() {
        Vec::new()
    } else {
        (1..=orders as u64)
            .map(|id| {
                let customer = &customers[skewed(&mut rng, customers.len())];
                let product = &products[skewed(&mut rng, products.len())];
                let quantity = if rng.gen_range(0..10) < 7 {
                    1
                } else {
                    rng.gen_range(2..6)
                };
                NewOrder {
                    id: Some(id),
                    customer_id: customer.id.unwrap_or(1),
                    product_id: product.id.unwrap_or(1),
                    quantity,
                    created_at: Some(seasonal_time(
                        &mut rng,
                        customer.created_at.unwrap_or(START),
                    )),
                    take_stock: false,
                }
            })
            .collect()
    };
    Demo {
        customers,
        products,
        orders,
    }
}

impl Demo {
    /// Every record as a write, customers and products before the orders that need them.
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.customers
            .iter()
            .cloned()
            .map(Op::AddCustomer)
            .chain(self.products.iter().cloned().map(Op::AddProduct))
            .chain(self.orders.iter().cloned().map(Op::AddOrder))
    }

    /// Writes everything into a store, in large groups (one flush per group).
    pub fn load_into(&self, store: &Store) -> Result<()> {
        let ops: Vec<Op> = self.ops().collect();
        for chunk in ops.chunks(5_000) {
            for result in store.write_many(chunk.to_vec())? {
                result?;
            }
        }
        Ok(())
    }

    /// Writes `customers.csv`, `products.csv` and `orders.csv`: the import's columns, the
    /// id and then each field a write sets (`schema/`), values as a request writes them.
    pub fn write_csv(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let customers = self.customers.iter().map(|c| (c.id, c.to_record(0)));
        write_table(&dir.join("customers.csv"), customers)?;
        let products = self.products.iter().map(|p| (p.id, p.to_record(0)));
        write_table(&dir.join("products.csv"), products)?;
        let orders = self.orders.iter().map(|o| (o.id, o.to_record(0)));
        write_table(&dir.join("orders.csv"), orders)?;
        Ok(())
    }
}

/// Writes one CSV file of records of kind `R`, each with its id (0: none).
fn write_table<R: Record>(path: &Path, rows: impl Iterator<Item = (Option<u64>, R)>) -> Result<()> {
    let schema = R::schema();
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(std::iter::once(ID).chain(schema.settable().map(|field| field.name)))?;
    for (id, record) in rows {
        let values = schema.settable().map(|field| {
            field
                .get(&record)
                .map_or_else(String::new, |value| field.ty.format(value))
        });
        out.write_record(std::iter::once(id.unwrap_or(0).to_string()).chain(values))?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_valid_values() {
        let a = generate(7, 50, 10, 200);
        let b = generate(7, 50, 10, 200);
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.customers, b.customers);
        for c in &a.customers {
            assert_eq!(crate::values::normalize_email(&c.email).unwrap(), c.email);
            assert_eq!(
                crate::values::normalize_text("name", &c.name).unwrap(),
                c.name
            );
        }
        for o in &a.orders {
            let customer = &a.customers[(o.customer_id - 1) as usize];
            assert!(o.created_at >= customer.created_at);
        }
    }
}
