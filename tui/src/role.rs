//! The user's role, as far as the console can tell, and what each part of the console needs.
//!
//! The protocol has no "who am I": the console asks three harmless questions at login whose
//! answers differ only by role, because the server checks permission before values
//! (PROTOCOL, Errors): `INFO` (admin only), `CUSTOMER.DEL 0` (a writer gets `INVALID`, as 0 is
//! never an id, and nothing changes) and `STATS.CUSTOMER 0` (an analyst gets `NOTFOUND`).
//! `NOPERM` to any of them means the role is below. Until all three answer, nothing is
//! hidden; a `NOPERM` to any later request is said where it happened.

use crm_server::request::Command;

/// The roles, weakest first (the engine's): each may do what the ones before it may.
pub use crm_engine::Role;

/// The roles that are told apart by a probe.
pub const PROBED: [Role; 3] = [Role::Analyst, Role::Writer, Role::Admin];

/// The request that `NOPERM` answers for every role below `role`.
pub fn probe(role: Role) -> Command {
    match role {
        Role::Admin => Command::info(),
        Role::Writer => Command::customer_del(0),
        Role::Analyst | Role::Reader => Command::stats_customer(0),
    }
}

/// The answers to the probes so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Probes {
    /// Whether each of [`PROBED`] is allowed, once answered.
    allowed: [Option<bool>; 3],
}

impl Probes {
    /// Takes one probe's answer: `NOPERM` or not.
    pub fn answer(&mut self, role: Role, allowed: bool) {
        if let Some(i) = PROBED.iter().position(|r| *r == role) {
            self.allowed[i] = Some(allowed);
        }
    }

    /// The role, once every probe has answered.
    pub fn role(&self) -> Option<Role> {
        let mut role = Role::Reader;
        for (i, probed) in PROBED.iter().enumerate() {
            match self.allowed[i] {
                None => return None,
                Some(true) => role = role.max(*probed),
                Some(false) => {}
            }
        }
        Some(role)
    }
}

/// Why a role may not do something, as the console says it.
pub fn denied(what: &str, needs: Role, role: Role) -> String {
    format!(
        "NOPERM {what} needs the {} role (you are {})",
        needs.as_str(),
        role.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_is_the_highest_probe_allowed_once_all_answered() {
        let mut probes = Probes::default();
        probes.answer(Role::Admin, false);
        probes.answer(Role::Writer, false);
        assert_eq!(probes.role(), None);
        probes.answer(Role::Analyst, true);
        assert_eq!(probes.role(), Some(Role::Analyst));
        probes.answer(Role::Analyst, false);
        assert_eq!(probes.role(), Some(Role::Reader));
        probes.answer(Role::Admin, true);
        assert_eq!(probes.role(), Some(Role::Admin));
    }
}
