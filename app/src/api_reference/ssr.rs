//! The page's model, read from the OpenAPI document.
use serde_json::Value;

use super::*;
use crate::auth::ssr::Ctx;
use entity::{order, quote, service};

/// A string of the document, without its Markdown code marks (the page sets none in code).
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().replace('`', "")
}

/// A schema's type in words: `string`, `integer`, `string | null`, `Money`, `array of …`.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(all) = schema["oneOf"].as_array().or_else(|| schema["anyOf"].as_array()) {
        return all.iter().map(type_of).collect::<Vec<_>>().join(" | ");
    }
    match &schema["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_of(&schema["items"])),
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "object".into(),
    }
}

/// The body fields of an operation: its JSON schema's properties, required ones first.
fn body_fields(doc: &Value, op: &Value) -> Vec<ApiField> {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    };
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut fields: Vec<ApiField> = schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| ApiField {
                    name: name.clone(),
                    kind: type_of(p),
                    required: required.contains(&name.as_str()),
                    description: text(&p["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    fields.sort_by_key(|f| !f.required);
    fields
}

/// A placeholder value for a required body field in a curl example.
fn example(f: &ApiField) -> String {
    match f.kind.split(' ').next().unwrap_or_default() {
        "integer" | "number" => "0".into(),
        "boolean" => "true".into(),
        _ => format!("\"<{}>\"", f.name),
    }
}

fn curl(base: &str, method: &str, path: &str, params: &[ApiField], body: &[ApiField]) -> String {
    let mut lines = vec![format!(
        "curl -sS{} '{base}{path}'",
        if method == "GET" { String::new() } else { format!(" -X {method}") }
    )];
    lines.push("  -H \"Authorization: Bearer $PATCHBAY_API_KEY\"".into());
    if params.iter().any(|p| p.name == "If-Match" && p.required) {
        lines.push("  -H 'If-Match: \"<ETag from GET>\"'".into());
    }
    if params.iter().any(|p| p.name == "Idempotency-Key") {
        lines.push("  -H \"Idempotency-Key: $(uuidgen)\"".into());
    }
    let required: Vec<String> =
        body.iter().filter(|f| f.required).map(|f| format!("\"{}\": {}", f.name, example(f))).collect();
    if !required.is_empty() {
        lines.push("  -H 'Content-Type: application/json'".into());
        lines.push(format!("  -d '{{{}}}'", required.join(", ")));
    }
    lines.join(" \\\n")
}

/// Real ids of the viewer's tenant for the examples (three statements, bounded).
async fn sample_ids(ctx: &Ctx) -> Result<Vec<(&'static str, String)>, AppError> {
    let scope = ctx.scope()?;
    let mut out = Vec::new();
    if let Some(s) = scope.find::<service::Entity>().one(ctx.db()).await? {
        out.push(("/v1/services/{id}", s.id));
    }
    if let Some(o) = scope.find::<order::Entity>().one(ctx.db()).await? {
        out.push(("/v1/orders/{id}", o.id));
    }
    if let Some(q) = scope.find::<quote::Entity>().one(ctx.db()).await? {
        out.push(("/v1/quotes/{id}", q.id));
    }
    Ok(out)
}

pub async fn build(ctx: &Ctx) -> Result<ApiReference, AppError> {
    let tenant = ctx.tenant()?.name.clone();
    let doc: &Value = &ctx.state.api_doc;
    let base = ctx.state.settings.public_url.trim_end_matches('/').to_string();
    let ids = sample_ids(ctx).await?;
    let mut groups: Vec<ApiGroup> = doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| ApiGroup {
                    tag: text(&t["name"]),
                    description: text(&t["description"]),
                    operations: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let paths =
        doc["paths"].as_object().ok_or_else(|| AppError::internal("api reference", "the document has no paths"))?;
    for (path, item) in paths {
        let Some(methods) = item.as_object() else { continue };
        for (method, op) in methods {
            let method = method.to_uppercase();
            let params: Vec<ApiField> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| ApiField {
                            name: text(&p["name"]),
                            kind: text(&p["in"]),
                            required: p["required"].as_bool().unwrap_or(false),
                            description: text(&p["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = body_fields(doc, op);
            let example_path = ids
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map(|(prefix, id)| path.replacen(prefix, &prefix.replace("{id}", id), 1))
                .unwrap_or_else(|| path.clone());
            let mut responses: Vec<(String, String)> = op["responses"]
                .as_object()
                .map(|r| r.iter().map(|(code, v)| (code.clone(), text(&v["description"]))).collect())
                .unwrap_or_default();
            responses.sort();
            let operation = ApiOperation {
                id: text(&op["operationId"]),
                curl: curl(&base, &method, &example_path, &params, &body),
                method,
                path: path.clone(),
                summary: text(&op["summary"]),
                description: text(&op["description"]),
                scope: op["security"][0]["apiKey"][0].as_str().unwrap_or_default().to_string(),
                params,
                body,
                responses,
            };
            let tag = op["tags"][0].as_str().unwrap_or_default();
            match groups.iter_mut().find(|g| g.tag == tag) {
                Some(g) => g.operations.push(operation),
                None => {
                    groups.push(ApiGroup { tag: tag.into(), description: String::new(), operations: vec![operation] })
                }
            }
        }
    }
    for g in &mut groups {
        g.operations.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    }
    groups.retain(|g| !g.operations.is_empty());
    Ok(ApiReference { base_url: base, tenant, version: text(&doc["info"]["version"]), groups })
}
