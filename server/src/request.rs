//! Typed request builders: how every client of this crate (the console, `crm-server import`,
//! the end-to-end tests' helpers) writes a request, so none of them spells a command or a
//! keyword by hand. Values a person typed stay text: the server validates them and names the
//! field and the value when they are wrong, which a client-side parse would only duplicate.

use crate::vocabulary::{self as words, customer_keyword, product_keyword};
use crm_engine::query::Operands;
use crm_engine::schema::{Catalog, CustomGiven};
use crm_engine::{CleanRecord, FieldSet, NewCustomer, NewOrder, NewProduct, Record};
pub use crm_engine::{ConditionText, Operator, SortText};

pub use crate::vocabulary::FindBy;
/// The kinds whose fields (`Customer::NAME`, ...) the builders below take.
pub use crm_engine::{Customer, FieldId, Product};

/// One request: a command name and its arguments, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    words: Vec<String>,
}

/// Which orders `ORDER.LIST` walks; ids stay text when a person typed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderScope {
    All,
    Customer(String),
    Product(String),
}

/// Optional parts of `ORDER.LIST`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderRange {
    pub since: Option<String>,
    pub until: Option<String>,
    pub after: Option<u64>,
}

/// What `AUDIT.LOG` may be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalFilter {
    User,
    Kind,
    Id,
}

impl JournalFilter {
    const fn keyword(self) -> &'static str {
        match self {
            JournalFilter::User => words::USER,
            JournalFilter::Kind => words::KIND,
            JournalFilter::Id => words::ID,
        }
    }
}

impl Command {
    fn named(name: &str) -> Command {
        Command {
            words: vec![name.to_string()],
        }
    }

    fn word(mut self, word: impl ToString) -> Command {
        self.words.push(word.to_string());
        self
    }

    fn keyword(self, keyword: &str, value: impl ToString) -> Command {
        self.word(keyword).word(value)
    }

    fn maybe(self, keyword: &str, value: Option<impl ToString>) -> Command {
        match value {
            Some(value) => self.keyword(keyword, value),
            None => self,
        }
    }

    fn flag_if(self, flag: &str, on: bool) -> Command {
        if on {
            self.word(flag)
        } else {
            self
        }
    }

    fn page(self, after: u64, limit: usize) -> Command {
        self.keyword(words::AFTER, after)
            .keyword(words::LIMIT, limit)
    }

    /// The words to send, the command name first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn into_words(self) -> Vec<String> {
        self.words
    }

    /// The same command with custom fields' values after its keywords, each as its name and
    /// its value as a request gives it (an empty value clears); fields `catalog` does not
    /// declare are left out.
    pub fn with_custom(self, given: &CustomGiven, catalog: &Catalog) -> Command {
        given.iter().fold(self, |command, (id, value)| {
            match catalog.by_id(id).filter(|field| !field.dropped) {
                Some(field) => command.keyword(
                    &field.name,
                    value.map_or_else(String::new, |value| field.ty.format(value.as_ref())),
                ),
                None => command,
            }
        })
    }

    /// The command name (`CUSTOMER.ADD`).
    pub fn name(&self) -> &str {
        &self.words[0]
    }

    // Customers.

    /// `CUSTOMER.ADD` with the fields a person typed, in the order given.
    pub fn customer_add(fields: &[(FieldId, &str)]) -> Command {
        with_fields(Command::named("CUSTOMER.ADD"), fields, customer_keyword)
    }

    /// `CUSTOMER.UPDATE id` setting the fields given (an empty value clears an optional one).
    pub fn customer_update(id: u64, fields: &[(FieldId, &str)]) -> Command {
        with_fields(
            Command::named("CUSTOMER.UPDATE").word(id),
            fields,
            customer_keyword,
        )
    }

    /// `CUSTOMER.UPSERT` of a cleaned row, keyed by its email; `DRYRUN` says what it would do.
    pub fn customer_upsert(customer: &NewCustomer, dry_run: bool) -> Command {
        new_customer(Command::named("CUSTOMER.UPSERT"), customer).flag_if(words::DRYRUN, dry_run)
    }

    /// `SCHEMA.LIST`: every field of customers and products.
    pub fn schema_list() -> Command {
        Command::named("SCHEMA.LIST")
    }

    /// `SCHEMA.FIELD.ADD kind name TYPE t [VALUES n v ...] [PERSONAL] [INDEXED]` (admin),
    /// as a person typed it: `VALUES` only when `values` is not empty.
    pub fn schema_field_add(kind: &str, name: &str, field: &NewField) -> Command {
        let command = Command::named("SCHEMA.FIELD.ADD")
            .word(kind)
            .word(name)
            .keyword(words::TYPE, &field.ty);
        let command = if field.values.is_empty() {
            command
        } else {
            field.values.iter().fold(
                command.keyword(words::VALUES, field.values.len()),
                |c, v| c.word(v),
            )
        };
        command
            .flag_if(words::PERSONAL, field.personal)
            .flag_if(words::INDEXED, field.indexed)
    }

    /// `SCHEMA.FIELD.DROP kind name` (admin).
    pub fn schema_field_drop(kind: &str, name: &str) -> Command {
        Command::named("SCHEMA.FIELD.DROP").word(kind).word(name)
    }

    /// `SCHEMA.FIELD.INDEX kind name ON|OFF` (admin): keep an index of a custom field in
    /// memory, or not.
    pub fn schema_field_index(kind: &str, name: &str, on: bool) -> Command {
        Command::named("SCHEMA.FIELD.INDEX")
            .word(kind)
            .word(name)
            .word(if on { words::ON } else { words::OFF })
    }

    /// The same command with custom fields' values as a person typed them, each after its
    /// field's name (an empty value clears), in the order given.
    pub fn with_custom_text(self, fields: &[(&str, &str)]) -> Command {
        fields
            .iter()
            .fold(self, |command, (name, value)| command.keyword(name, value))
    }

    pub fn customer_get(id: u64) -> Command {
        Command::named("CUSTOMER.GET").word(id)
    }

    pub fn customer_del(id: u64) -> Command {
        Command::named("CUSTOMER.DEL").word(id)
    }

    pub fn customer_list(after: u64, limit: usize) -> Command {
        Command::named("CUSTOMER.LIST").page(after, limit)
    }

    pub fn customer_find(by: FindBy, value: &str) -> Command {
        Command::named("CUSTOMER.FIND")
            .word(by.keyword())
            .word(value)
    }

    pub fn customer_reveal(id: u64) -> Command {
        Command::named("CUSTOMER.REVEAL").word(id)
    }

    pub fn customer_export(id: u64) -> Command {
        Command::named("CUSTOMER.EXPORT").word(id)
    }

    pub fn customer_forget(id: u64) -> Command {
        Command::named("CUSTOMER.FORGET").word(id)
    }

    /// `CUSTOMER.DUPLICATES MIN min LIMIT limit` (`min`: a score from 0.1 to 1, as text).
    pub fn customer_duplicates(min: &str, limit: usize) -> Command {
        Command::named("CUSTOMER.DUPLICATES")
            .keyword(words::MIN, min)
            .keyword(words::LIMIT, limit)
    }

    /// `CUSTOMER.MERGE keep other`: `other` is merged into `keep`.
    pub fn customer_merge(keep: u64, other: u64) -> Command {
        Command::named("CUSTOMER.MERGE").word(keep).word(other)
    }

    /// `CUSTOMER.UNMERGE other`: the merged-away customer comes back.
    pub fn customer_unmerge(other: u64) -> Command {
        Command::named("CUSTOMER.UNMERGE").word(other)
    }

    /// `CUSTOMER.QUERY [WHERE cond [AND cond ...]] [SORT field ASC|DESC] [LIMIT n]
    /// [CURSOR c]`.
    pub fn customer_query(clauses: &QueryClauses) -> Command {
        clauses.written(Command::named("CUSTOMER.QUERY"))
    }

    /// `CUSTOMER.COUNT [WHERE ...]`.
    pub fn customer_count(conditions: &[ConditionText]) -> Command {
        with_conditions(Command::named("CUSTOMER.COUNT"), conditions)
    }

    // Products.

    pub fn product_add(fields: &[(FieldId, &str)]) -> Command {
        with_fields(Command::named("PRODUCT.ADD"), fields, product_keyword)
    }

    pub fn product_update(id: u64, fields: &[(FieldId, &str)]) -> Command {
        with_fields(
            Command::named("PRODUCT.UPDATE").word(id),
            fields,
            product_keyword,
        )
    }

    pub fn product_del(id: u64) -> Command {
        Command::named("PRODUCT.DEL").word(id)
    }

    pub fn product_get(id: u64) -> Command {
        Command::named("PRODUCT.GET").word(id)
    }

    pub fn product_list(after: u64, limit: usize) -> Command {
        Command::named("PRODUCT.LIST").page(after, limit)
    }

    /// `PRODUCT.QUERY` with these clauses.
    pub fn product_query(clauses: &QueryClauses) -> Command {
        clauses.written(Command::named("PRODUCT.QUERY"))
    }

    /// `PRODUCT.COUNT [WHERE ...]`.
    pub fn product_count(conditions: &[ConditionText]) -> Command {
        with_conditions(Command::named("PRODUCT.COUNT"), conditions)
    }

    // Orders.

    pub fn order_get(id: u64) -> Command {
        Command::named("ORDER.GET").word(id)
    }

    pub fn order_list(scope: &OrderScope, range: &OrderRange, limit: usize) -> Command {
        let command = Command::named("ORDER.LIST");
        let command = match scope {
            OrderScope::All => command.word(words::ALL),
            OrderScope::Customer(id) => command.keyword(words::CUSTOMER, id),
            OrderScope::Product(id) => command.keyword(words::PRODUCT, id),
        };
        command
            .maybe(words::SINCE, range.since.as_ref())
            .maybe(words::UNTIL, range.until.as_ref())
            .maybe(words::AFTER, range.after)
            .keyword(words::LIMIT, limit)
    }

    /// The write a cleaned CSV row stands for: `CUSTOMER.ADD`, `PRODUCT.ADD` or, for orders
    /// (historical: stock is not touched), `ORDER.ADD ... NOSTOCK`.
    pub fn add_record(record: &CleanRecord) -> Command {
        match record {
            CleanRecord::Customer(customer) => {
                new_customer(Command::named("CUSTOMER.ADD"), customer)
            }
            CleanRecord::Product(product) => new_product(product),
            CleanRecord::Order(order) => new_order(order).word(words::NOSTOCK),
        }
    }

    // Analytics.

    pub fn stats_customer(id: u64) -> Command {
        Command::named("STATS.CUSTOMER").word(id)
    }

    /// `STATS.CUSTOMERS BY TOTAL LIMIT n`: the best customers by what they spent.
    pub fn stats_top_customers(limit: usize) -> Command {
        Command::named("STATS.CUSTOMERS")
            .keyword(words::BY, "TOTAL")
            .keyword(words::LIMIT, limit)
    }

    /// `STATS.PRODUCTS LIMIT n`: the products with orders, by revenue.
    pub fn stats_products(limit: usize) -> Command {
        Command::named("STATS.PRODUCTS").keyword(words::LIMIT, limit)
    }

    pub fn stats_monthly() -> Command {
        Command::named("STATS.MONTHLY")
    }

    pub fn stats_rfm() -> Command {
        Command::named("STATS.RFM")
    }

    pub fn stats_clusters(k: usize, seed: u64) -> Command {
        Command::named("STATS.CLUSTERS")
            .keyword("K", k)
            .keyword("SEED", seed)
    }

    pub fn stats_anomalies(limit: usize) -> Command {
        Command::named("STATS.ANOMALIES").keyword(words::LIMIT, limit)
    }

    // Operations.

    pub fn info() -> Command {
        Command::named("INFO")
    }

    /// `BACKUP [name]`.
    pub fn backup(name: Option<&str>) -> Command {
        let command = Command::named("BACKUP");
        match name {
            Some(name) => command.word(name),
            None => command,
        }
    }

    pub fn backup_list() -> Command {
        Command::named("BACKUP.LIST")
    }

    pub fn backup_verify(name: &str) -> Command {
        Command::named("BACKUP.VERIFY").word(name)
    }

    // The journal.

    /// `AUDIT.LOG AFTER seq [USER u] [KIND k] [ID n] LIMIT n`.
    pub fn audit_log(after: u64, filters: &[(JournalFilter, &str)], limit: usize) -> Command {
        let command = Command::named("AUDIT.LOG").keyword(words::AFTER, after);
        filters
            .iter()
            .fold(command, |command, (filter, value)| {
                command.keyword(filter.keyword(), value)
            })
            .keyword(words::LIMIT, limit)
    }

    pub fn audit_verify() -> Command {
        Command::named("AUDIT.VERIFY")
    }

    /// `XREAD BLOCK ms STREAMS stream id`: waits for the change feed to pass `id`.
    pub fn xread_blocking(block_ms: u64, stream: &str, id: &str) -> Command {
        Command::named("XREAD")
            .keyword("BLOCK", block_ms)
            .keyword("STREAMS", stream)
            .word(id)
    }
}

/// What `SCHEMA.FIELD.ADD` declares after the field's name, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewField {
    /// `text`, `integer`, `money`, `date`, `bool` or `choice`.
    pub ty: String,
    /// A choice's values (empty: no `VALUES`).
    pub values: Vec<String>,
    pub personal: bool,
    pub indexed: bool,
}

/// The clauses of a `CUSTOMER.QUERY` or `PRODUCT.QUERY` (`None`: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryClauses {
    pub conditions: Vec<ConditionText>,
    pub sort: Option<SortText>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl QueryClauses {
    /// Appends the clauses.
    fn written(&self, command: Command) -> Command {
        let command = with_conditions(command, &self.conditions);
        let command = match &self.sort {
            Some(sort) => command
                .keyword(words::SORT, &sort.field)
                .word(if sort.descending {
                    words::DESC
                } else {
                    words::ASC
                }),
            None => command,
        };
        command
            .maybe(words::LIMIT, self.limit)
            .maybe(words::CURSOR, self.cursor.as_ref())
    }
}

/// Appends `WHERE cond AND cond ...` (nothing without conditions): each condition as its
/// field, its operator and its values (`IN` with their count first).
fn with_conditions(command: Command, conditions: &[ConditionText]) -> Command {
    conditions
        .iter()
        .enumerate()
        .fold(command, |command, (at, condition)| {
            let command = command
                .word(if at == 0 { words::WHERE } else { words::AND })
                .word(&condition.field)
                .word(condition.op.word());
            let command = match condition.op.operands() {
                Operands::List => command.word(condition.values.len()),
                Operands::None | Operands::One => command,
            };
            condition
                .values
                .iter()
                .fold(command, |command, value| command.word(value))
        })
}

/// Appends `KEYWORD value` for each field, in the order given.
fn with_fields<F: Copy>(
    command: Command,
    fields: &[(F, &str)],
    keyword: fn(F) -> &'static str,
) -> Command {
    fields.iter().fold(command, |command, (field, value)| {
        command.keyword(keyword(*field), value)
    })
}

/// Appends `KEYWORD value` for each field of `record` in `given`, in the schema's order, each
/// value as a request writes it; then `ID id` when there is one.
fn with_record<R: Record>(
    command: Command,
    record: &R,
    given: FieldSet,
    id: Option<u64>,
) -> Command {
    let schema = R::schema();
    schema
        .settable()
        .filter(|field| given.has(schema, field.id))
        .fold(command, |command, field| match field.get(record) {
            Some(value) => command.keyword(field.keyword, field.ty.format(value)),
            None => command,
        })
        .maybe(words::ID, id)
}

fn new_customer(command: Command, customer: &NewCustomer) -> Command {
    with_record(
        command,
        &customer.to_record(0),
        customer.given(),
        customer.id,
    )
}

fn new_product(product: &NewProduct) -> Command {
    let command = Command::named("PRODUCT.ADD");
    with_record(command, &product.to_record(0), product.given(), product.id)
}

fn new_order(order: &NewOrder) -> Command {
    let command = Command::named("ORDER.ADD");
    with_record(command, &order.to_record(0), order.given(), order.id)
}

#[cfg(test)]
mod tests;
