//! The roles a page user can have, as the dock stores and checks them. It owns the role names in
//! the `user.role` column; it must never know the web site (`web_ui::access::Role` is converted to
//! and from it only in `accounts` and `views`).

/// What a page user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including users, settings and the audit trail.
    Admin,
    /// Workers, tasks, roster and the dock.
    Supervisor,
    /// The dock and diagnostics pages only: never worker data.
    Technician,
}

impl Role {
    /// The role as the `user.role` column and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
        }
    }

    /// The role of that spelling, if it is one.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Admin, Role::Supervisor, Role::Technician]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_spelling_and_nothing_else_is_a_role() {
        for role in [Role::Admin, Role::Supervisor, Role::Technician] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }
}
