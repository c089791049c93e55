//! The write paths of users. Passwords arrive already hashed; the engine never sees them.

use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::journal::{Draft, JournalOp};
use crate::model::{Role, User};
use crate::schema::{MASKED, PASSWORD, ROLE};
use crate::trees::Space;
use crate::values::quote;

fn users(view: &View) -> Result<Vec<User>> {
    view.records_under(&Space::User.prefix())
}

pub fn add(view: &View, user: &User) -> Result<(Plan, Outcome)> {
    User::validate_name(&user.name)?;
    let key = view.blind.user_key(&user.name);
    if view.contains(&key)? {
        return Err(Error::Conflict(format!(
            "user {} exists",
            quote(&user.name)
        )));
    }
    let mut fields = vec![PASSWORD.name, ROLE.name];
    if user.masked {
        fields.push(MASKED.name);
    }
    let mut plan = Plan::journaled(Draft::named(JournalOp::Add, Kind::User, &user.name, fields));
    plan.put_record(&key, user);
    Ok((plan, Outcome::Done))
}

/// Adds the first admin, only when the store has no users at all.
pub fn bootstrap(view: &View, admin: &User) -> Result<(Plan, Outcome)> {
    if !users(view)?.is_empty() {
        return Ok((Plan::default(), Outcome::Skipped));
    }
    add(view, admin)
}

pub fn set_password(view: &View, name: &str, password_hash: &str) -> Result<(Plan, Outcome)> {
    let key = view.blind.user_key(name);
    let mut user: User = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::User, quote(name)))?;
    user.password_hash = password_hash.to_string();
    let mut plan = Plan::journaled(Draft::named(
        JournalOp::Update,
        Kind::User,
        name,
        vec![PASSWORD.name],
    ));
    plan.put_record(&key, &user);
    Ok((plan, Outcome::Done))
}

pub fn set_masked(view: &View, name: &str, masked: bool) -> Result<(Plan, Outcome)> {
    let key = view.blind.user_key(name);
    let mut user: User = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::User, quote(name)))?;
    user.masked = masked;
    let mut plan = Plan::journaled(Draft::named(
        JournalOp::Update,
        Kind::User,
        name,
        vec![MASKED.name],
    ));
    plan.put_record(&key, &user);
    Ok((plan, Outcome::Done))
}

pub fn delete(view: &View, name: &str) -> Result<(Plan, Outcome)> {
    let key = view.blind.user_key(name);
    let user: User = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::User, quote(name)))?;
    if user.role == Role::Admin {
        let admins = users(view)?
            .iter()
            .filter(|u| u.role == Role::Admin)
            .count();
        if admins <= 1 {
            return Err(Error::Refused(format!(
                "user {} is the last admin and cannot be deleted",
                quote(name)
            )));
        }
    }
    let mut plan = Plan::journaled(Draft::named(
        JournalOp::Delete,
        Kind::User,
        name,
        Vec::new(),
    ));
    plan.remove(key);
    Ok((plan, Outcome::Done))
}
