//! `USER.ADD | DEL | PASSWD | LIST` (admin only).

use super::values::engine;
use crate::auth::hash_password;
use crate::parse::{kw, required_text, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::{Op, Role, User as UserRecord};

/// A parsed user command.
pub enum User {
    Add {
        name: Vec<u8>,
        password: Vec<u8>,
        keywords: Keywords,
    },
    Del(Vec<u8>),
    Passwd {
        name: Vec<u8>,
        password: Vec<u8>,
    },
    List,
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<User> {
    let command = match name {
        "USER.ADD" => {
            let name = args.required()?;
            let password = args.required()?;
            User::Add {
                name,
                password,
                keywords: args.keywords(&[kw("ROLE")])?,
            }
        }
        "USER.DEL" => User::Del(args.required()?),
        "USER.PASSWD" => User::Passwd {
            name: args.required()?,
            password: args.required()?,
        },
        _ => User::List,
    };
    args.finish()?;
    Ok(command)
}

fn check_password(password: &str) -> CmdResult<()> {
    if password.is_empty() || password.len() > 1024 {
        return Err(Reply::error("INVALID", "password: must be 1 to 1024 bytes"));
    }
    Ok(())
}

/// Hashes off the async workers, within the Argon2id permits (see `auth::Authenticator`).
async fn hash(shared: &Shared, password: &str) -> CmdResult<String> {
    let password = zeroize::Zeroizing::new(password.to_string());
    let hashed = shared
        .authenticator
        .with_permit(move || hash_password(&password))
        .await
        .ok_or_else(|| Reply::error("ERR", "hashing failed"))?;
    engine(hashed)
}

pub async fn execute(shared: &Shared, command: User) -> CmdResult {
    let store = &shared.store;
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
            };
            engine(store.write_async(Op::AddUser(user)).await)?;
            Ok(Reply::ok())
        }
        User::Del(name) => {
            let name = text("user", &name)?.to_string();
            engine(store.write_async(Op::DeleteUser(name)).await)?;
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
            engine(
                store
                    .write_async(Op::SetPassword {
                        name,
                        password_hash,
                    })
                    .await,
            )?;
            shared.authenticator.users_changed();
            Ok(Reply::ok())
        }
        User::List => {
            Ok(Reply::json_array(engine(store.users())?.iter().map(
                |u| serde_json::json!({"name": u.name, "role": u.role.as_str()}),
            )))
        }
    }
}
