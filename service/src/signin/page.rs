//! The "sign in as" page of the dev issuer (and the mock Cognito's hosted
//! UI): one server-rendered form, no script, its style allowed by hash.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::sync::LazyLock;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;\
margin:0;display:grid;place-items:center;min-height:100vh}\
main{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002;\
width:min(22rem,90vw)}h1{font-size:1.4rem;margin:0 0 .25rem}p{margin:0 0 1rem;color:#4a5360}\
label{display:block;font-weight:600;margin-bottom:.25rem}\
input[type=text]{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;\
border:1px solid #6b7480;border-radius:6px}\
button{margin-top:1rem;width:100%;font:inherit;font-weight:600;padding:.6rem;border:0;\
border-radius:6px;background:#1d4ed8;color:#fff;cursor:pointer}\
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}\
.error{color:#b91c1c}";

static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(STYLE))));

/// The page's policy: its own style, a form that may post here and be
/// redirected to `redirect_origin`, nothing else.
pub fn content_security_policy(redirect_origin: Option<&str>) -> String {
    format!(
        "default-src 'none'; style-src {}; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH,
        redirect_origin.map(|o| format!(" {o}")).unwrap_or_default()
    )
}

/// The sign-in form; `fields` are the authorization request's parameters,
/// carried through as hidden inputs.
pub fn sign_in(title: &str, fields: &[(&str, &str)], error: Option<&str>) -> String {
    let mut hidden = String::new();
    for (name, value) in fields {
        let _ = write!(
            hidden,
            r#"<input type="hidden" name="{}" value="{}">"#,
            escape(name),
            escape(value)
        );
    }
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    document(
        title,
        &format!(
            r#"<h1>{title}</h1><p>Local sign-in: no password, for development only.</p>{error}
<form method="post" action="/oauth2/authorize">{hidden}
<label for="username">Sign in as</label>
<input type="text" id="username" name="username" autocomplete="username" required
 pattern="[A-Za-z0-9._@+\-]{{1,64}}" autofocus>
<button type="submit">Sign in</button></form>"#,
            title = escape(title)
        ),
    )
}

/// A page for a request that cannot be sent back to the client.
pub fn refused(title: &str, why: &str) -> String {
    document(
        title,
        &format!(
            r#"<h1>Sign-in refused</h1><p class="error" role="alert">{}</p>"#,
            escape(why)
        ),
    )
}

fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>"#,
        escape(title)
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_values_cannot_break_out_of_their_attribute() {
        let page = sign_in("t", &[("state", r#""><script>x</script>"#)], None);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn the_policy_names_the_style_by_hash() {
        let policy = content_security_policy(Some("http://127.0.0.1:9"));
        assert!(policy.contains("'sha256-"), "{policy}");
        assert!(policy.contains("form-action 'self' http://127.0.0.1:9"));
    }
}
