//! How answers look: statuses, problem documents, challenges.

use crate::world::FlipframeWorld;
use cucumber::then;

#[then(expr = "the request is refused with status {int} and code {string}")]
fn refused(world: &mut FlipframeWorld, status: u16, code: String) {
    let response = world.last();
    let body = String::from_utf8_lossy(&response.body);
    assert_eq!(response.status, status, "{body}");
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json"),
        "{body}"
    );
    let problem = response.json();
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status);
}

#[then("the request succeeds")]
fn succeeds(world: &mut FlipframeWorld) {
    let response = world.last();
    response.expect_status(200);
}

#[then("the answer explains the problem")]
fn explains(world: &mut FlipframeWorld) {
    let problem = world.last().json();
    for member in ["title", "detail", "code"] {
        assert!(
            problem[member]
                .as_str()
                .is_some_and(|text| !text.is_empty()),
            "no {member}: {problem}"
        );
    }
}

#[then("the answer asks for a bearer token")]
fn challenge(world: &mut FlipframeWorld) {
    let challenge = world.last().header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "challenge: {challenge:?}");
}

#[then("the answer asks me to retry later")]
fn retry_later(world: &mut FlipframeWorld) {
    let seconds: u64 = world
        .last()
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(seconds > 0);
}

#[then(expr = "the answer carries the failure code {string}")]
fn failure_code(world: &mut FlipframeWorld, code: String) {
    let problem = world.last().json();
    assert_eq!(problem["failure"]["code"], code, "{problem}");
}
