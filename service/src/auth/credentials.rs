//! Pulls exactly one credential out of the request headers.

use super::AuthError;
use axum::http::{HeaderMap, header::AUTHORIZATION};

pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// Three base64url segments: a signed-in user's JWT.
    Jwt(&'a str),
    /// Anything else: an external system's fixed token.
    Opaque(&'a str),
}

impl<'a> Credential<'a> {
    /// Several credentials at once are refused: which one would count is
    /// exactly the ambiguity an attacker looks for.
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, AuthError> {
        let mut values = headers
            .get_all(AUTHORIZATION)
            .iter()
            .map(|v| (true, v))
            .chain(headers.get_all(API_KEY_HEADER).iter().map(|v| (false, v)));
        let Some((is_authorization, value)) = values.next() else {
            return Err(AuthError::Missing);
        };
        if values.next().is_some() {
            return Err(AuthError::Invalid("more than one credential"));
        }
        let value = value
            .to_str()
            .map_err(|_| AuthError::Invalid("credential is not ASCII"))?;
        if !is_authorization {
            return Ok(Self::Opaque(value.trim()));
        }
        let (scheme, token) = value
            .split_once(' ')
            .ok_or(AuthError::Invalid("authorization is not a bearer token"))?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
            return Err(AuthError::Invalid("authorization is not a bearer token"));
        }
        if token.split('.').count() == 3 {
            Ok(Self::Jwt(token))
        } else {
            Ok(Self::Opaque(token))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn exactly_one_credential_is_taken() {
        assert_eq!(
            Credential::from_headers(&headers(&[])),
            Err(AuthError::Missing)
        );
        let h = headers(&[("authorization", "Bearer a.b.c")]);
        assert_eq!(Credential::from_headers(&h), Ok(Credential::Jwt("a.b.c")));
        let h = headers(&[("authorization", "bearer opaque-token")]);
        assert_eq!(
            Credential::from_headers(&h),
            Ok(Credential::Opaque("opaque-token"))
        );
        let h = headers(&[("x-api-key", "k")]);
        assert_eq!(Credential::from_headers(&h), Ok(Credential::Opaque("k")));
        for bad in [
            headers(&[("authorization", "Basic dXNlcjpwYXNz")]),
            headers(&[("authorization", "Bearer")]),
            headers(&[("authorization", "Bearer a b")]),
            headers(&[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer a.b.c"),
            ]),
            headers(&[("authorization", "Bearer a.b.c"), ("x-api-key", "k")]),
        ] {
            assert!(matches!(
                Credential::from_headers(&bad),
                Err(AuthError::Invalid(_))
            ));
        }
    }
}
