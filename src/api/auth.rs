//! Tokens and roles for the API listener.

use crate::ingest::constant_time_eq;

/// Who a caller is, by the token they present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// An agent: policy reads, approval requests.
    Agent,
    /// A read-only operator console.
    Viewer,
    /// A full operator.
    Operator,
}

/// The configured tokens (any may be absent).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Operator token.
    pub operator: Option<String>,
    /// Viewer token.
    pub viewer: Option<String>,
    /// Agent token.
    pub agent: Option<String>,
}

impl Tokens {
    /// The role a bearer header grants, if any.
    pub fn role_of(&self, header: Option<&str>) -> Option<Role> {
        let given = header?.strip_prefix("Bearer ").or_else(|| header?.strip_prefix("bearer "))?.trim();
        let is = |t: &Option<String>| t.as_deref().is_some_and(|t| constant_time_eq(t.as_bytes(), given.as_bytes()));
        if is(&self.operator) {
            Some(Role::Operator)
        } else if is(&self.viewer) {
            Some(Role::Viewer)
        } else if is(&self.agent) {
            Some(Role::Agent)
        } else {
            None
        }
    }

    /// Whether a read route lets this header in: open when no operator or viewer token is set.
    pub fn may_read(&self, header: Option<&str>) -> bool {
        if self.operator.is_none() && self.viewer.is_none() {
            return true;
        }
        matches!(self.role_of(header), Some(Role::Viewer | Role::Operator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_token() {
        let t = Tokens { operator: Some("op".into()), viewer: Some("view".into()), agent: Some("ag".into()) };
        assert_eq!(t.role_of(Some("Bearer op")), Some(Role::Operator));
        assert_eq!(t.role_of(Some("Bearer view")), Some(Role::Viewer));
        assert_eq!(t.role_of(Some("Bearer ag")), Some(Role::Agent));
        assert_eq!(t.role_of(Some("Bearer nope")), None);
        assert_eq!(t.role_of(Some("op")), None, "the scheme is required");
        assert!(t.may_read(Some("Bearer view")));
        assert!(!t.may_read(Some("Bearer ag")));
        assert!(!t.may_read(None));
        assert!(Tokens::default().may_read(None), "no tokens: open on loopback");
    }
}
