//! `SCHEMA.FIELD.ADD | DROP | INDEX` (admin) and `SCHEMA.LIST` (every role): the custom
//! fields of customers and products (`PROTOCOL.md` "Schema").

use super::context::Context;
use super::spec::{keyword, one_of, token, value, Access, ArgKind, Group, Spec, PLAIN};
use super::values::engine;
use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::reply::Reply;
use crm_engine::schema::{CustomType, FieldDeclaration, FieldType, Record};
use crm_engine::{Customer, Kind, Op, Product, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    FieldAdd,
    FieldDrop,
    FieldIndex,
    List,
}

/// A parsed schema command.
pub enum Schema {
    FieldAdd {
        kind: Vec<u8>,
        name: Vec<u8>,
        options: FieldOptions,
    },
    FieldDrop {
        kind: Vec<u8>,
        name: Vec<u8>,
    },
    FieldIndex {
        kind: Vec<u8>,
        name: Vec<u8>,
        setting: Vec<u8>,
    },
    List(Option<Vec<u8>>),
}

/// The keywords after a new field's name, as given.
#[derive(Default)]
pub struct FieldOptions {
    ty: Option<Vec<u8>>,
    values: Option<Vec<Vec<u8>>>,
    personal: bool,
    indexed: bool,
}

impl super::context::Verb for Verb {
    type Command = Schema;

    const ALL: &'static [Verb] = &[
        Verb::FieldAdd,
        Verb::FieldDrop,
        Verb::FieldIndex,
        Verb::List,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::FieldAdd => {
                const {
                    &Spec {
                        names: &["SCHEMA.FIELD.ADD"],
                        summary: "Declare a custom field of customers or products (keywords in any order)",
                        access: Access::Write,
                        syntax: &[
                            one_of!("kind", [token("customer"), token("product")]),
                            value("name", ArgKind::String),
                            keyword(TYPE, "type", ArgKind::String),
                            keyword(VALUES, "count value ...", ArgKind::String).optional(),
                            token(PERSONAL).optional(),
                            token(INDEXED).optional(),
                        ],
                        ..ADMIN
                    }
                }
            }
            Verb::FieldDrop => {
                const {
                    &Spec {
                        names: &["SCHEMA.FIELD.DROP"],
                        summary: "Drop a custom field: it leaves every reply, its values are erased in the background",
                        access: Access::Write,
                        syntax: &[
                            one_of!("kind", [token("customer"), token("product")]),
                            value("name", ArgKind::String),
                        ],
                        ..ADMIN
                    }
                }
            }
            Verb::FieldIndex => {
                const {
                    &Spec {
                        names: &["SCHEMA.FIELD.INDEX"],
                        summary: "Keep an index in memory of a custom field (ON), or not (OFF)",
                        access: Access::Write,
                        syntax: &[
                            one_of!("kind", [token("customer"), token("product")]),
                            value("name", ArgKind::String),
                            one_of!("setting", [token(ON), token(OFF)]),
                        ],
                        ..ADMIN
                    }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["SCHEMA.LIST"],
                        summary: "Every field of customers and products, built-in and custom",
                        role: Some(Role::Reader),
                        syntax: &[one_of!("kind", [token("customer"), token("product")]).optional()],
                        ..ADMIN
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Schema> {
        Ok(match self {
            Verb::FieldAdd => Schema::FieldAdd {
                kind: args.required()?,
                name: args.required()?,
                options: field_options(args)?,
            },
            Verb::FieldDrop => Schema::FieldDrop {
                kind: args.required()?,
                name: args.required()?,
            },
            Verb::FieldIndex => Schema::FieldIndex {
                kind: args.required()?,
                name: args.required()?,
                setting: args.required()?,
            },
            Verb::List => Schema::List(args.next()),
        })
    }
}

use crate::vocabulary::{INDEXED, OFF, ON, PERSONAL, TYPE, VALUES};

/// What the schema verbs share: admins only, in the contract's `schema` group.
const ADMIN: Spec = Spec {
    group: Group::Schema,
    since: 3,
    role: Some(Role::Admin),
    access: Access::Read,
    ..PLAIN
};

/// `TYPE t [VALUES n v1 ... vn] [PERSONAL] [INDEXED]`, in any order, each at most once.
fn field_options(args: &mut Args) -> CmdResult<FieldOptions> {
    let mut options = FieldOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    while let Some(word) = args.next() {
        let keyword = [TYPE, VALUES, PERSONAL, INDEXED]
            .into_iter()
            .find(|k| k.as_bytes().eq_ignore_ascii_case(&word))
            .ok_or_else(|| {
                syntax(format!(
                    "syntax error: unknown keyword '{}' for 'schema.field.add' (TYPE, VALUES, PERSONAL, INDEXED)",
                    printable(&word)
                ))
            })?;
        if seen.contains(&keyword) {
            return Err(syntax(format!(
                "syntax error: keyword '{keyword}' given twice for 'schema.field.add'"
            )));
        }
        seen.push(keyword);
        let needs_value = || syntax(format!("syntax error: keyword '{keyword}' needs a value"));
        match keyword {
            TYPE => options.ty = Some(args.next().ok_or_else(needs_value)?),
            VALUES => {
                let count = args.next().ok_or_else(needs_value)?;
                let count: usize = std::str::from_utf8(&count)
                    .ok()
                    .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(|| {
                        syntax(format!(
                            "syntax error: VALUES takes a count, then that many values, not '{}'",
                            printable(&count)
                        ))
                    })?;
                if args.remaining() < count {
                    return Err(syntax(format!(
                        "syntax error: VALUES {count} is followed by {} values",
                        args.remaining()
                    )));
                }
                options.values = Some((0..count).filter_map(|_| args.next()).collect());
            }
            PERSONAL => options.personal = true,
            _ => options.indexed = true,
        }
    }
    if options.ty.is_none() {
        return Err(syntax(
            "syntax error: 'schema.field.add' needs TYPE (text, integer, money, date, bool, choice)",
        ));
    }
    Ok(options)
}

/// `customer` or `product`, in any case.
fn kind(bytes: &[u8]) -> CmdResult<Kind> {
    match bytes.to_ascii_lowercase().as_slice() {
        b"customer" => Ok(Kind::Customer),
        b"product" => Ok(Kind::Product),
        _ => Err(Reply::error(
            "INVALID",
            format!("kind: \"{}\" is not customer or product", printable(bytes)),
        )),
    }
}

/// `ON` or `OFF`, in any case.
fn setting(bytes: &[u8]) -> CmdResult<bool> {
    if bytes.eq_ignore_ascii_case(ON.as_bytes()) {
        Ok(true)
    } else if bytes.eq_ignore_ascii_case(OFF.as_bytes()) {
        Ok(false)
    } else {
        Err(Reply::error(
            "INVALID",
            format!("setting: \"{}\" is not ON or OFF", printable(bytes)),
        ))
    }
}

/// The declaration `SCHEMA.FIELD.ADD` asks for (a name that is one of the protocol's keywords
/// is refused here: the engine knows no keywords).
fn declaration(kind: Kind, name: &[u8], options: FieldOptions) -> CmdResult<FieldDeclaration> {
    let name = text("name", name)?;
    if super::is_keyword(name) && !crm_engine::schema::custom::is_built_in_name(name) {
        return Err(Reply::error(
            "INVALID",
            format!(
                "name: \"{}\" is reserved (a keyword of the protocol)",
                printable(name.as_bytes())
            ),
        ));
    }
    let ty_word = text("type", options.ty.as_deref().unwrap_or_default())?;
    let values = match options.values {
        Some(values) => Some(
            values
                .iter()
                .map(|value| text("values", value).map(str::to_string))
                .collect::<CmdResult<Vec<String>>>()?,
        ),
        None => None,
    };
    Ok(FieldDeclaration {
        kind,
        name: name.to_string(),
        ty: engine(CustomType::parse(ty_word, values))?,
        personal: options.personal,
        indexed: options.indexed,
    })
}

/// The built-in fields of a kind as `SCHEMA.LIST` shows them.
fn built_in<R: Record>(kind: Kind) -> Vec<serde_json::Value> {
    let id = serde_json::json!({
        "kind": kind.to_string(), "name": "id", "type": "integer", "values": null,
        "personal": false, "indexed": true, "builtin": true,
    });
    let fields = R::schema()
        .fields()
        .filter(|field| field.set.is_some())
        .map(|field| {
            let ty = match field.ty {
                FieldType::Money => "money",
                FieldType::Date => "date",
                FieldType::Email => "email",
                FieldType::Phone => "phone",
                FieldType::Stock | FieldType::Quantity | FieldType::Reference => "integer",
                FieldType::Text => "text",
            };
            serde_json::json!({
                "kind": kind.to_string(), "name": field.name, "type": ty, "values": null,
                "personal": field.personal,
                // Answered from the store's own indexes in memory (`indexes/`).
                "indexed": matches!(field.ty, FieldType::Email | FieldType::Phone) || field.name == "name",
                "builtin": true,
            })
        });
    std::iter::once(id).chain(fields).collect()
}

pub async fn execute(context: &Context<'_>, command: Schema) -> CmdResult {
    let store = &context.shared.store;
    match command {
        Schema::FieldAdd {
            kind: kind_word,
            name,
            options,
        } => {
            let declared = declaration(kind(&kind_word)?, &name, options)?;
            written(context, Op::DeclareField(declared)).await
        }
        Schema::FieldDrop { kind: k, name } => {
            let name = text("name", &name)?.to_string();
            written(
                context,
                Op::DropField {
                    kind: kind(&k)?,
                    name,
                },
            )
            .await
        }
        Schema::FieldIndex {
            kind: k,
            name,
            setting: on,
        } => {
            let kind = kind(&k)?;
            let name = text("name", &name)?.to_string();
            let on = setting(&on)?;
            written(context, Op::IndexField { kind, name, on }).await
        }
        Schema::List(only) => {
            let only = only.as_deref().map(kind).transpose()?;
            let catalog = store.catalog();
            let mut rows = Vec::new();
            for (kind, builtin) in [
                (Kind::Customer, built_in::<Customer>(Kind::Customer)),
                (Kind::Product, built_in::<Product>(Kind::Product)),
            ] {
                if only.is_some_and(|only| only != kind) {
                    continue;
                }
                rows.extend(builtin);
                rows.extend(catalog.declared(kind).map(|field| field.to_json()));
            }
            Ok(Reply::json_array(rows))
        }
    }
}

/// Writes a schema change; when it indexes a field, waits for the index to be built (every
/// record of the kind read, off the async workers, while other writes go on), so that `+OK`
/// means queries use it.
async fn written(context: &Context<'_>, op: Op) -> CmdResult {
    let indexes = op.starts_index();
    engine(
        context
            .shared
            .store
            .write_async(op.by(context.author()))
            .await,
    )?;
    if indexes {
        super::offload::off_workers(context.shared, |store| store.build_indexes()).await?;
    }
    Ok(Reply::ok())
}
