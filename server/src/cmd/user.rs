//! `USER.ADD | DEL | PASSWD | MASK | LIST` (admin only).

use super::context::Context;
use super::spec::{one_of, token, value, Access, Arg, ArgKind, Group, Spec, PLAIN};
use super::values::engine;
use crate::auth::hash_password;
use crate::parse::{printable, required_text, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::{Op, Role, User as UserRecord};
use zeroize::Zeroizing;

#[derive(Clone, Copy)]
pub enum Verb {
    Add,
    Del,
    Passwd,
    Mask,
    List,
}

/// A parsed user command.
pub enum User {
    Add {
        name: Vec<u8>,
        password: Zeroizing<Vec<u8>>,
        keywords: Keywords,
    },
    Del(Vec<u8>),
    Passwd {
        name: Vec<u8>,
        password: Zeroizing<Vec<u8>>,
    },
    Mask {
        name: Vec<u8>,
        setting: Vec<u8>,
    },
    List,
}

impl super::context::Verb for Verb {
    type Command = User;

    const ALL: &'static [Verb] = &[Verb::Add, Verb::Del, Verb::Passwd, Verb::Mask, Verb::List];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Add => {
                const {
                    &Spec {
                        names: &["USER.ADD"],
                        summary:
                            "Add a user with a role; MASKED hides customers' personal data from it",
                        access: Access::Write,
                        syntax: &[
                            value("name", ArgKind::String),
                            value("password", ArgKind::String),
                            Arg {
                                token: Some("ROLE"),
                                ..one_of!(
                                    "role",
                                    [
                                        token("admin"),
                                        token("writer"),
                                        token("analyst"),
                                        token("reader"),
                                    ],
                                )
                            },
                            token("MASKED").optional(),
                        ],
                        ..USERS
                    }
                }
            }
            Verb::Del => {
                const {
                    &Spec {
                        names: &["USER.DEL"],
                        summary: "Delete a user (not the last admin)",
                        access: Access::Write,
                        syntax: &[value("name", ArgKind::String)],
                        ..USERS
                    }
                }
            }
            Verb::Passwd => {
                const {
                    &Spec {
                        names: &["USER.PASSWD"],
                        summary: "Set a user's password",
                        access: Access::Write,
                        syntax: &[
                            value("name", ArgKind::String),
                            value("password", ArgKind::String),
                        ],
                        ..USERS
                    }
                }
            }
            Verb::Mask => {
                const {
                    &Spec {
                        names: &["USER.MASK"],
                        summary: "Mask or unmask customers' personal data for a user",
                        since: 2,
                        access: Access::Write,
                        syntax: &[
                            value("name", ArgKind::String),
                            one_of!("setting", [token("ON"), token("OFF")]),
                        ],
                        ..USERS
                    }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["USER.LIST"],
                        summary: "Every user with its role and whether it is masked",
                        ..USERS
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<User> {
        Ok(match self {
            Verb::Add => {
                let name = args.required()?;
                let password = Zeroizing::new(args.required()?);
                User::Add {
                    name,
                    password,
                    keywords: args.keywords(&self.spec().syntax[2..])?,
                }
            }
            Verb::Del => User::Del(args.required()?),
            Verb::Passwd => User::Passwd {
                name: args.required()?,
                password: Zeroizing::new(args.required()?),
            },
            Verb::Mask => User::Mask {
                name: args.required()?,
                setting: args.required()?,
            },
            Verb::List => User::List,
        })
    }
}

/// What the user verbs share: admins only.
const USERS: Spec = Spec {
    group: Group::Admin,
    role: Some(Role::Admin),
    access: Access::Read,
    ..PLAIN
};

fn check_password(password: &str) -> CmdResult<()> {
    if password.is_empty() || password.len() > 1024 {
        return Err(Reply::error("INVALID", "password: must be 1 to 1024 bytes"));
    }
    Ok(())
}

/// Hashes off the async workers, within the Argon2id permits (see `auth::Authenticator`).
async fn hash(shared: &Shared, password: &str) -> CmdResult<String> {
    let password = Zeroizing::new(password.to_string());
    let hashed = shared
        .authenticator
        .with_permit(move || hash_password(&password))
        .await
        .ok_or_else(|| Reply::error("ERR", "the password hashing task failed"))?;
    hashed.map_err(|e| Reply::error("ERR", e.to_string()))
}

/// `ON` or `OFF`, in any case.
fn mask_setting(bytes: &[u8]) -> CmdResult<bool> {
    match bytes.to_ascii_uppercase().as_slice() {
        b"ON" => Ok(true),
        b"OFF" => Ok(false),
        _ => Err(Reply::error(
            "INVALID",
            format!("masked: \"{}\" is not ON or OFF", printable(bytes)),
        )),
    }
}

pub async fn execute(context: Context<'_>, command: User) -> CmdResult {
    let shared = context.shared;
    let store = &shared.store;
    let by = context.session.user_name().map(str::to_string);
    match command {
        User::Add {
            name,
            password,
            keywords,
        } => {
            let name = text("user", &name)?;
            UserRecord::validate_name(name)?;
            let password = text("password", &password)?;
            check_password(password)?;
            let role = Role::parse(required_text("role", keywords.value("ROLE"))?)?;
            let user = UserRecord {
                name: name.to_string(),
                role,
                password_hash: hash(shared, password).await?,
                masked: keywords.has("MASKED"),
            };
            engine(store.write_async(Op::AddUser(user).by(by)).await)?;
            Ok(Reply::ok())
        }
        User::Del(name) => {
            let name = text("user", &name)?.to_string();
            engine(store.write_async(Op::DeleteUser(name).by(by)).await)?;
            shared.authenticator.users_changed();
            Ok(Reply::ok())
        }
        User::Passwd { name, password } => {
            let name = text("user", &name)?.to_string();
            let password = text("password", &password)?;
            check_password(password)?;
            if engine(store.user(&name))?.is_none() {
                return Err(crm_engine::Error::not_found(
                    crm_engine::Kind::User,
                    crm_engine::values::quote(&name),
                )
                .into());
            }
            let password_hash = hash(shared, password).await?;
            let op = Op::SetPassword {
                name: name.clone(),
                password_hash,
            };
            engine(store.write_async(op.by(by)).await)?;
            shared.authenticator.users_changed();
            context.session.refresh_own_credential(shared, &name);
            Ok(Reply::ok())
        }
        User::Mask { name, setting } => {
            let name = text("user", &name)?.to_string();
            let masked = mask_setting(&setting)?;
            engine(
                store
                    .write_async(Op::SetMasked { name, masked }.by(by))
                    .await,
            )?;
            shared.authenticator.users_changed();
            Ok(Reply::ok())
        }
        // Over 1 MiB (tens of thousands of users) it goes in pieces (`pieces.rs`).
        User::List => engine(crate::pieces::HeldRows::reply(
            engine(store.users())?,
            |_, u| {
                Ok(Reply::json(
                    &serde_json::json!({"name": u.name, "role": u.role.as_str(), "masked": u.masked}),
                ))
            },
            store,
        )),
    }
}
