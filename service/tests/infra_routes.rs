//! The route contract between the service and its Terraform: every route of
//! the router is routed by API Gateway and nothing else is; user routes sit
//! behind the JWT authorizer; routes that take external tokens, or none, reach
//! the function unauthorised at the gateway (the service checks them itself).

use std::collections::BTreeSet;
use std::path::PathBuf;

fn terraform_routes(name: &str) -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/apigw.tf");
    let body: hcl::Body =
        hcl::from_str(&std::fs::read_to_string(&path).unwrap()).expect("apigw.tf parses");
    let locals = body
        .blocks()
        .find(|block| block.identifier() == "locals")
        .expect("apigw.tf has a locals block");
    let list = locals
        .body()
        .attributes()
        .find(|attribute| attribute.key() == name)
        .unwrap_or_else(|| panic!("locals.{name} is missing"));
    match list.expr() {
        hcl::Expression::Array(items) => items
            .iter()
            .map(|item| match item {
                hcl::Expression::String(route) => route.clone(),
                other => panic!("locals.{name} holds a non-literal route: {other:?}"),
            })
            .collect(),
        other => panic!("locals.{name} is not a list: {other:?}"),
    }
}

struct Operation {
    route: String,
    /// Security scheme names any of which the operation accepts; empty: open.
    schemes: BTreeSet<String>,
}

fn openapi_operations() -> Vec<Operation> {
    let document = serde_json::to_value(flipframe::api::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schemes = operation["security"]
                .as_array()
                .map(|requirements| {
                    requirements
                        .iter()
                        .flat_map(|r| r.as_object().unwrap().keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            operations.push(Operation {
                route: format!("{} {path}", method.to_uppercase()),
                schemes,
            });
        }
    }
    operations
}

#[test]
fn every_router_route_is_routed_and_guarded_as_it_should_be() {
    let user = terraform_routes("user_routes");
    let open = terraform_routes("open_routes");
    assert!(
        user.is_disjoint(&open),
        "a route is both JWT-guarded and open"
    );
    let operations = openapi_operations();
    assert!(operations.len() >= 8, "the OpenAPI document lists the API");

    let mut expected_user = BTreeSet::new();
    let mut expected_open = BTreeSet::new();
    for operation in &operations {
        let user_only =
            !operation.schemes.is_empty() && operation.schemes.iter().all(|s| s == "bearer");
        if user_only {
            expected_user.insert(operation.route.clone());
        } else {
            expected_open.insert(operation.route.clone());
            // axum answers HEAD on every GET route; the gateway must route it
            // where external systems may ask for it.
            if operation.schemes.contains("api_key") {
                expected_open.insert(operation.route.replacen("GET", "HEAD", 1));
            }
        }
    }
    assert_eq!(
        user, expected_user,
        "JWT-guarded routes in infra/apigw.tf vs user-only routes of the router"
    );
    assert_eq!(
        open, expected_open,
        "open routes in infra/apigw.tf vs the router's routes without user-only security"
    );
}

#[test]
fn the_console_is_routed_open_at_the_gateway() {
    let console = terraform_routes("console_routes");
    let expected: BTreeSet<String> = flipframe::console::ROUTES
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        console, expected,
        "console routes in infra/apigw.tf vs the console's"
    );
    let api: BTreeSet<String> = openapi_operations().into_iter().map(|o| o.route).collect();
    assert!(
        console.is_disjoint(&api),
        "the console shadows no API route"
    );
}

#[test]
fn user_routes_use_the_jwt_authorizer() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/apigw.tf");
    let body: hcl::Body = hcl::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let route = |label: &str| {
        body.blocks()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels()
                        .iter()
                        .map(|l| l.as_str())
                        .eq(["aws_apigatewayv2_route", label])
            })
            .unwrap_or_else(|| panic!("no aws_apigatewayv2_route.{label}"))
            .body()
            .clone()
    };
    let attribute = |body: &hcl::Body, key: &str| {
        body.attributes()
            .find(|a| a.key() == key)
            .map(|a| a.expr().to_string())
    };
    let user = route("user");
    assert_eq!(
        attribute(&user, "authorization_type").as_deref(),
        Some("\"JWT\"")
    );
    assert!(
        attribute(&user, "authorizer_id")
            .is_some_and(|id| id.contains("aws_apigatewayv2_authorizer.cognito"))
    );
    assert!(attribute(&user, "for_each").is_some_and(|e| e.contains("local.user_routes")));
    let open = route("open");
    assert_eq!(
        attribute(&open, "authorization_type").as_deref(),
        Some("\"NONE\"")
    );
    assert!(attribute(&open, "for_each").is_some_and(|e| e.contains("local.open_routes")));
    let console = route("console");
    assert_eq!(
        attribute(&console, "authorization_type").as_deref(),
        Some("\"NONE\"")
    );
    assert!(attribute(&console, "for_each").is_some_and(|e| e.contains("local.console_routes")));
}
