//! Id allocation: one more than the largest id ever used in a kind, never reused.

use super::view::{Plan, View};
use crate::error::{Error, Kind, Result};
use crate::trees::{meta, Space};
use crate::values::MAX_ID;

/// The id a new record will get: the explicit one, or the high-water mark plus one.
///
/// Fails with `INVALID` once every id is used; this is a value error, so it is checked before
/// references and conflicts.
pub fn choose(view: &View, space: Space, explicit: Option<u64>) -> Result<u64> {
    if let Some(id) = explicit {
        return Ok(id);
    }
    let high_water = view.meta_u64(&meta::high_water(space as u8))?;
    if high_water >= MAX_ID {
        return Err(Error::invalid("id", "ids exhausted"));
    }
    Ok(high_water + 1)
}

/// Claims a chosen id: `CONFLICT` if a record has it, else raises the high-water mark.
///
/// An add never overwrites: the id is looked up even above the mark. No record should be
/// there (every add raises the mark in the same batch, and `check_consistency` verifies it),
/// but the mark could have been rolled back on disk to an older sealed value; a generated id
/// that is taken then means exactly that, and is `CORRUPT` rather than a silent overwrite.
pub fn claim(
    view: &View,
    plan: &mut Plan,
    space: Space,
    kind: Kind,
    id: u64,
    explicit: bool,
) -> Result<()> {
    let name = meta::high_water(space as u8);
    let mark = view.meta_u64(&name)?;
    if view.exists(space, id)? {
        if explicit {
            return Err(Error::Conflict(format!("{kind} {id} exists")));
        }
        return Err(Error::Corrupt(format!(
            "the {kind} id high-water mark ({mark}) is below the existing {kind} {id}: the metadata was rolled back"
        )));
    }
    if id > mark {
        plan.put_meta_u64(&name, id);
    }
    Ok(())
}
