//! Model-based test: random operation sequences (with reopens) run against the store and a
//! plain in-memory model; every result, read, index lookup and rollup must agree.
//!
//! One file: the model, the operation generator and the comparison are one test and only make
//! sense together.

#![allow(clippy::unwrap_used)]

use crm_engine::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const NAMES: [&str; 4] = ["Ada Lovelace", "Alan Turing", "Ada Byron", "Grace Hopper"];
const EMAILS: [&str; 4] = ["a@x.io", "b@x.io", "c@x.io", "d@x.io"];
const PHONES: [Option<&str>; 3] = [None, Some("+15550100"), Some("+15550199")];

#[derive(Debug, Clone)]
enum Action {
    AddCustomer {
        name: usize,
        email: usize,
        phone: usize,
        id: Option<u64>,
    },
    UpdateCustomer {
        id: u64,
        name: Option<usize>,
        email: Option<usize>,
        phone: Option<usize>,
    },
    DeleteCustomer(u64),
    AddProduct {
        price: u64,
        stock: u64,
        id: Option<u64>,
    },
    UpdateProduct {
        id: u64,
        price: Option<u64>,
        stock: Option<u64>,
    },
    DeleteProduct(u64),
    AddOrder {
        customer: u64,
        product: u64,
        quantity: u32,
        at: i64,
        take_stock: bool,
        id: Option<u64>,
    },
    DeleteOrder(u64),
    Reopen,
}

fn action() -> impl Strategy<Value = Action> {
    let id = 1u64..6;
    let maybe_id = proptest::option::weighted(0.2, 1u64..8);
    prop_oneof![
        3 => (0..4usize, 0..4usize, 0..3usize, maybe_id.clone()).prop_map(|(name, email, phone, id)| Action::AddCustomer { name, email, phone, id }),
        2 => (id.clone(), proptest::option::of(0..4usize), proptest::option::of(0..4usize), proptest::option::of(0..3usize))
            .prop_map(|(id, name, email, phone)| Action::UpdateCustomer { id, name, email, phone }),
        1 => id.clone().prop_map(Action::DeleteCustomer),
        2 => (1u64..500, 0u64..6, maybe_id.clone()).prop_map(|(price, stock, id)| Action::AddProduct { price, stock, id }),
        1 => (id.clone(), proptest::option::of(1u64..500), proptest::option::of(0u64..6)).prop_map(|(id, price, stock)| Action::UpdateProduct { id, price, stock }),
        1 => id.clone().prop_map(Action::DeleteProduct),
        5 => (id.clone(), id.clone(), 1u32..4, 0i64..5, any::<bool>(), maybe_id).prop_map(|(customer, product, quantity, at, take_stock, id)| {
            Action::AddOrder { customer, product, quantity, at: 1_700_000_000 + at * 86_400, take_stock, id }
        }),
        2 => (1u64..10).prop_map(Action::DeleteOrder),
        1 => Just(Action::Reopen),
    ]
}

/// The plain model: what the store should hold.
#[derive(Default)]
struct Model {
    customers: BTreeMap<u64, Customer>,
    products: BTreeMap<u64, Product>,
    orders: BTreeMap<u64, Order>,
    high_water: [u64; 3],
}

impl Model {
    fn next_id(&self, kind: usize, explicit: Option<u64>) -> u64 {
        explicit.unwrap_or(self.high_water[kind] + 1)
    }

    fn claim(&mut self, kind: usize, id: u64) {
        self.high_water[kind] = self.high_water[kind].max(id);
    }

    fn email_owner(&self, email: &str) -> Option<u64> {
        self.customers
            .values()
            .find(|c| c.email == email)
            .map(|c| c.id)
    }

    fn has_orders(&self, customer: Option<u64>, product: Option<u64>) -> bool {
        self.orders
            .values()
            .any(|o| Some(o.customer_id) == customer || Some(o.product_id) == product)
    }

    /// Applies an action; the error code on refusal.
    fn apply(&mut self, action: &Action) -> Result<u64, ErrorKind> {
        match action {
            Action::AddCustomer {
                name,
                email,
                phone,
                id,
            } => {
                let new_id = self.next_id(0, *id);
                if self.email_owner(EMAILS[*email]).is_some()
                    || self.customers.contains_key(&new_id)
                {
                    return Err(ErrorKind::Conflict);
                }
                self.claim(0, new_id);
                self.customers.insert(
                    new_id,
                    Customer {
                        id: new_id,
                        name: NAMES[*name].into(),
                        email: EMAILS[*email].into(),
                        phone: PHONES[*phone].map(str::to_string),
                        address: None,
                        created_at: 1_600_000_000,
                        custom: Default::default(),
                    },
                );
                Ok(new_id)
            }
            Action::UpdateCustomer {
                id,
                name,
                email,
                phone,
            } => {
                let Some(current) = self.customers.get(id).cloned() else {
                    return Err(ErrorKind::NotFound);
                };
                if let Some(email) = email {
                    if self
                        .email_owner(EMAILS[*email])
                        .is_some_and(|owner| owner != *id)
                    {
                        return Err(ErrorKind::Conflict);
                    }
                }
                let mut updated = current;
                if let Some(name) = name {
                    updated.name = NAMES[*name].into();
                }
                if let Some(email) = email {
                    updated.email = EMAILS[*email].into();
                }
                if let Some(phone) = phone {
                    updated.phone = PHONES[*phone].map(str::to_string);
                }
                self.customers.insert(*id, updated);
                Ok(0)
            }
            Action::DeleteCustomer(id) => {
                if !self.customers.contains_key(id) {
                    return Err(ErrorKind::NotFound);
                }
                if self.has_orders(Some(*id), None) {
                    return Err(ErrorKind::ForeignKey);
                }
                self.customers.remove(id);
                Ok(0)
            }
            Action::AddProduct { price, stock, id } => {
                let new_id = self.next_id(1, *id);
                if self.products.contains_key(&new_id) {
                    return Err(ErrorKind::Conflict);
                }
                self.claim(1, new_id);
                self.products.insert(
                    new_id,
                    Product {
                        id: new_id,
                        name: "P".into(),
                        price_cents: *price,
                        stock: *stock,
                        custom: Default::default(),
                    },
                );
                Ok(new_id)
            }
            Action::UpdateProduct { id, price, stock } => {
                let Some(product) = self.products.get_mut(id) else {
                    return Err(ErrorKind::NotFound);
                };
                if let Some(price) = price {
                    product.price_cents = *price;
                }
                if let Some(stock) = stock {
                    product.stock = *stock;
                }
                Ok(0)
            }
            Action::DeleteProduct(id) => {
                if !self.products.contains_key(id) {
                    return Err(ErrorKind::NotFound);
                }
                if self.has_orders(None, Some(*id)) {
                    return Err(ErrorKind::ForeignKey);
                }
                self.products.remove(id);
                Ok(0)
            }
            Action::AddOrder {
                customer,
                product,
                quantity,
                at,
                take_stock,
                id,
            } => {
                let new_id = self.next_id(2, *id);
                if !self.customers.contains_key(customer) || !self.products.contains_key(product) {
                    return Err(ErrorKind::ForeignKey);
                }
                if self.orders.contains_key(&new_id) {
                    return Err(ErrorKind::Conflict);
                }
                let item = self.products.get_mut(product).unwrap();
                if *take_stock {
                    if item.stock < u64::from(*quantity) {
                        return Err(ErrorKind::Stock);
                    }
                    item.stock -= u64::from(*quantity);
                }
                let unit_price_cents = item.price_cents;
                self.claim(2, new_id);
                self.orders.insert(
                    new_id,
                    Order {
                        id: new_id,
                        customer_id: *customer,
                        product_id: *product,
                        quantity: *quantity,
                        unit_price_cents,
                        created_at: *at,
                        took_stock: *take_stock,
                    },
                );
                Ok(new_id)
            }
            Action::DeleteOrder(id) => {
                let Some(order) = self.orders.remove(id) else {
                    return Err(ErrorKind::NotFound);
                };
                if order.took_stock {
                    self.products.get_mut(&order.product_id).unwrap().stock +=
                        u64::from(order.quantity);
                }
                Ok(0)
            }
            Action::Reopen => Ok(0),
        }
    }
}

fn op_of(action: &Action) -> Option<Op> {
    Some(match action {
        Action::AddCustomer {
            name,
            email,
            phone,
            id,
        } => {
            let mut new = NewCustomer::parse(
                NAMES[*name],
                EMAILS[*email],
                PHONES[*phone],
                None,
                Some("2020-09-13T12:26:40Z"),
            )
            .unwrap();
            new.id = *id;
            Op::AddCustomer(new)
        }
        Action::UpdateCustomer {
            id,
            name,
            email,
            phone,
        } => {
            let mut patch = CustomerPatch::default();
            if let Some(name) = name {
                patch.set(Customer::NAME, NAMES[*name]).unwrap();
            }
            if let Some(email) = email {
                patch.set(Customer::EMAIL, EMAILS[*email]).unwrap();
            }
            if let Some(phone) = phone {
                patch
                    .set(Customer::PHONE, PHONES[*phone].unwrap_or(""))
                    .unwrap();
            }
            Op::UpdateCustomer(*id, patch)
        }
        Action::DeleteCustomer(id) => Op::DeleteCustomer(*id),
        Action::AddProduct { price, stock, id } => Op::AddProduct(NewProduct {
            id: *id,
            name: "P".into(),
            price_cents: *price,
            stock: Some(*stock),
            custom: Default::default(),
        }),
        Action::UpdateProduct { id, price, stock } => Op::UpdateProduct(
            *id,
            ProductPatch {
                name: None,
                price_cents: *price,
                stock: *stock,
                custom: Default::default(),
            },
        ),
        Action::DeleteProduct(id) => Op::DeleteProduct(*id),
        Action::AddOrder {
            customer,
            product,
            quantity,
            at,
            take_stock,
            id,
        } => Op::AddOrder(NewOrder {
            id: *id,
            customer_id: *customer,
            product_id: *product,
            quantity: *quantity,
            created_at: Some(*at),
            take_stock: *take_stock,
        }),
        Action::DeleteOrder(id) => Op::DeleteOrder(*id),
        Action::Reopen => return None,
    })
}

fn compare(store: &Store, model: &Model) {
    assert_eq!(
        store.customers(0, 1000).unwrap(),
        model.customers.values().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        store.products(0, 1000).unwrap(),
        model.products.values().cloned().collect::<Vec<_>>()
    );
    let all = OrderQuery {
        scope: OrderScope::All,
        since: None,
        until: None,
        after: 0,
        limit: 1000,
    };
    assert_eq!(
        store.orders(&all).unwrap(),
        model.orders.values().cloned().collect::<Vec<_>>()
    );
    for email in EMAILS {
        let expected: Vec<Customer> = model
            .customers
            .values()
            .filter(|c| c.email == email)
            .cloned()
            .collect();
        assert_eq!(store.find_by_email(email, 0, usize::MAX).unwrap(), expected);
    }
    for phone in PHONES.iter().flatten() {
        let expected: Vec<Customer> = model
            .customers
            .values()
            .filter(|c| c.phone.as_deref() == Some(*phone))
            .cloned()
            .collect();
        assert_eq!(store.find_by_phone(phone, 0, usize::MAX).unwrap(), expected);
    }
    for word in ["ada", "turing", "grace", "lovelace"] {
        let expected: Vec<u64> = model
            .customers
            .values()
            .filter(|c| c.name.to_lowercase().split(' ').any(|w| w == word))
            .map(|c| c.id)
            .collect();
        assert_eq!(
            store
                .find_by_name(word, 0, usize::MAX)
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            expected
        );
    }
    for customer in model.customers.values() {
        let mut expected = CustomerRollup::default();
        for order in model
            .orders
            .values()
            .filter(|o| o.customer_id == customer.id)
        {
            expected.add(order.amount_cents(), order.created_at);
        }
        assert_eq!(store.customer_rollup(customer.id).unwrap(), Some(expected));
        let by_customer = OrderQuery {
            scope: OrderScope::Customer(customer.id),
            ..all
        };
        let expected: Vec<Order> = model
            .orders
            .values()
            .filter(|o| o.customer_id == customer.id)
            .cloned()
            .collect();
        assert_eq!(store.orders(&by_customer).unwrap(), expected);
    }
    let counts = store.counts().unwrap();
    assert_eq!(
        (counts.customers, counts.products, counts.orders),
        (
            model.customers.len() as u64,
            model.products.len() as u64,
            model.orders.len() as u64
        )
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_store_behaves_like_the_model(actions in proptest::collection::vec(action(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let key = KeySource::Key(MasterKey::generate());
        let mut store = Store::open(dir.path(), &key, &Options::default()).unwrap();
        let mut model = Model::default();
        for action in &actions {
            let expected = model.apply(action);
            match op_of(action) {
                None => {
                    drop(store);
                    store = Store::open(dir.path(), &key, &Options::default()).unwrap();
                }
                Some(op) => {
                    let got = store.write(op).map(|o| o.id()).map_err(|e| e.kind());
                    prop_assert_eq!(got, expected, "{:?}", action);
                }
            }
        }
        compare(&store, &model);
        store.check_consistency().unwrap();
    }
}
