//! Checks the JSON this crate writes and reads against Curio's swagger.
//!
//! `tests/swagger-mk20.json` is an unchanged extract of Curio's market/mk20/http/swagger.json
//! (its `x-source` says which commit). The checker below reads the parts of Swagger 2.0 that file
//! uses: `$ref`, `allOf`, `type`, `properties` (no other property allowed), `additionalProperties`,
//! `items`, `enum` and `required` (which that swagger never uses). One override, from Curio's Go
//! types rather than swagger: `address.Address` is a JSON string (go-address `MarshalJSON`),
//! though swag documents it as an object.

use serde_json::{json, Value};

use crate::deal::aggregate_deal;
use crate::deal::tests::{example_params, example_pieces, example_sources};
use crate::status::Stage;
use crate::types::{DealCode, DealProductStatusResponse, DealState};

fn swagger() -> Value {
    serde_json::from_str(include_str!("../tests/swagger-mk20.json")).unwrap()
}

/// Types that Curio's Go JSON writes differently from swagger's documentation.
fn overridden(name: &str) -> Option<Value> {
    (name == "address.Address").then(|| json!({"type": "string"}))
}

/// Every way `value` breaks `schema`, as `path: problem` lines.
fn check(defs: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/definitions/");
        let target = overridden(name).unwrap_or_else(|| defs[name].clone());
        assert!(!target.is_null(), "unknown $ref {reference}");
        return check(defs, &target, value, path, errors);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(defs, part, value, path, errors);
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    let Some(kind) = schema.get("type").and_then(Value::as_str) else { return };
    let type_ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        other => panic!("schema type {other} is not handled"),
    };
    if !type_ok {
        errors.push(format!("{path}: {value} is not {kind}"));
        return;
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(defs, items, item, &format!("{path}[{i}]"), errors);
        }
    }
    let Some(object) = value.as_object() else { return };
    for field in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        if !object.contains_key(field.as_str().unwrap_or_default()) {
            errors.push(format!("{path}: {field} is missing"));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    for (key, field) in object {
        let at = format!("{path}.{key}");
        match (properties.and_then(|p| p.get(key)), additional) {
            (Some(sub), _) => check(defs, sub, field, &at, errors),
            (None, Some(sub)) => check(defs, sub, field, &at, errors),
            (None, None) => errors.push(format!("{at}: not in the schema")),
        }
    }
}

fn violations(definition: &str, value: &Value) -> Vec<String> {
    let spec = swagger();
    let defs = &spec["definitions"];
    let mut errors = Vec::new();
    check(defs, &json!({"$ref": format!("#/definitions/{definition}")}), value, "$", &mut errors);
    errors
}

#[test]
fn deal_request_matches_the_swagger_schema() {
    let (aggregate, subs) = example_pieces();
    let sources = example_sources();
    let deal = aggregate_deal(&example_params(&aggregate, &subs, &sources)).unwrap();
    let value = serde_json::to_value(&deal).unwrap();
    assert_eq!(violations("mk20.Deal", &value), Vec::<String>::new());
    // Every field carport relies on is there (swagger itself marks none as required).
    for pointer in [
        "/identifier",
        "/client",
        "/data/piece_cid/~1",
        "/data/format/aggregate/type",
        "/data/format/aggregate/sub/0/piece_cid/~1",
        "/data/format/aggregate/sub/0/format/car",
        "/data/source_http/urls/0/url",
        "/products/ddo_v1/provider",
        "/products/ddo_v1/duration",
        "/products/retrieval_v1/indexing",
    ] {
        assert!(value.pointer(pointer).is_some(), "{pointer} missing");
    }
    // And it reads back the same.
    assert_eq!(serde_json::from_value::<crate::types::Deal>(value).unwrap(), deal);
}

#[test]
fn the_checker_catches_unknown_fields_and_wrong_types() {
    let (aggregate, subs) = example_pieces();
    let sources = example_sources();
    let deal = aggregate_deal(&example_params(&aggregate, &subs, &sources)).unwrap();
    let mut value = serde_json::to_value(&deal).unwrap();
    value["data"]["format"]["aggregate"]["subs"] = json!([]);
    value["products"]["ddo_v1"]["duration"] = json!("long");
    value["data"]["format"]["aggregate"]["type"] = json!(2);
    value["data"]["piece_cid"] = json!("bafk");
    let errors = violations("mk20.Deal", &value);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn every_swagger_deal_state_parses_to_a_stage() {
    let spec = swagger();
    let states = spec["definitions"]["mk20.DealState"]["enum"].as_array().unwrap().clone();
    assert_eq!(states.len(), 7);
    for state in states {
        for product in ["ddo_v1", "pdp_v1"] {
            let error = if state == "failed" { "piece commitment mismatch" } else { "" };
            let body = json!({ product: { "status": state, "errorMsg": error } });
            assert_eq!(violations("mk20.DealProductStatusResponse", &body), Vec::<String>::new());
            let parsed =
                crate::client::parse_status_response(200, body.to_string().as_bytes()).unwrap();
            let expected = match state.as_str().unwrap() {
                "accepted" | "uploading" => Stage::Accepted,
                "processing" => Stage::Processing,
                "sealing" | "indexing" => Stage::Sealing,
                "complete" => Stage::Complete,
                "failed" => Stage::Failed { reason: "piece commitment mismatch".into() },
                other => panic!("unmapped state {other}"),
            };
            assert_eq!(parsed.stage(), expected, "{body}");
            // What the broker writes back validates too.
            let written = serde_json::to_value(parsed.response()).unwrap();
            assert_eq!(
                violations("mk20.DealProductStatusResponse", &written),
                Vec::<String>::new()
            );
        }
    }
    let written: Vec<Value> = [
        DealState::Accepted,
        DealState::AwaitingUpload,
        DealState::Processing,
        DealState::Sealing,
        DealState::Indexing,
        DealState::Failed,
        DealState::Complete,
    ]
    .iter()
    .map(|s| serde_json::to_value(s).unwrap())
    .collect();
    assert_eq!(Value::Array(written), spec["definitions"]["mk20.DealState"]["enum"]);
    let empty = serde_json::to_value(DealProductStatusResponse::default()).unwrap();
    assert_eq!(empty, json!({}));
}

#[test]
fn deal_codes_match_swagger() {
    let spec = swagger();
    let codes = &spec["definitions"]["mk20.DealCode"];
    let values: Vec<u16> =
        codes["enum"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u16).collect();
    let names: Vec<&str> =
        codes["x-enum-varnames"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(DealCode::ALL.map(DealCode::status).to_vec(), values);
    assert_eq!(DealCode::ALL.map(DealCode::name).to_vec(), names);
    // Every status POST /deal documents is a code (400 is also documented as a plain string).
    for status in spec["paths"]["/deal"]["post"]["responses"].as_object().unwrap().keys() {
        assert!(DealCode::from_status(status.parse().unwrap()).is_some(), "{status}");
    }
}
