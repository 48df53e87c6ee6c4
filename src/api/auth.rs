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

/// The operator token in effect: the configured one, else the one stored in the data dir
/// (`operator.token`, mode 0600), created on first start.
pub fn operator_token(configured: Option<&str>, data_dir: &std::path::Path) -> Result<String, String> {
    if let Some(t) = configured {
        return Ok(t.to_owned());
    }
    let path = data_dir.join(OPERATOR_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let token: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        hex::encode(bytes)
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(token)
}

/// Where the generated operator token lives in the data dir.
pub const OPERATOR_TOKEN_FILE: &str = "operator.token";

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
