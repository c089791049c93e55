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
/// No record has an id above the mark (every add raises it in the same batch, and
/// `check_consistency` verifies it), so a new id above it needs no lookup: that saves a tree
/// read for every generated id, which is nearly every add.
pub fn claim(view: &View, plan: &mut Plan, space: Space, kind: Kind, id: u64) -> Result<()> {
    let name = meta::high_water(space as u8);
    if id > view.meta_u64(&name)? {
        plan.put_meta_u64(&name, id);
    } else if view.exists(space, id)? {
        return Err(Error::Conflict(format!("{kind} {id} exists")));
    }
    Ok(())
}
