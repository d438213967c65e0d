//! The API described as OpenAPI 3.1, from the code.
//!
//! Each function lists its routes as [`Operation`]s (`<function>::openapi::operations()`):
//! method and path, who may call it, step-up, `Idempotency-Key` and `If-Match`,
//! parameters, the request body and the answers, each body given by the Rust type
//! the handler parses or serialises (its JSON Schema derived by `schemars` from the
//! same serde attributes, so the document cannot drift from the wire). [`document`]
//! assembles the functions' lists into one document and adds what the conventions
//! of api.md give every route: the problem+json answers with their `code` values
//! (401 with bearer auth, 403 with roles and scopes, 400 for parameters and bodies,
//! 404 for path parameters, 412/428 with `If-Match`, 409/422 with
//! `Idempotency-Key`, 500 everywhere), `x-request-id` on every answer.
//!
//! `docs/openapi.json` is this document; `tests/tests/openapi.rs` fails when the
//! committed file differs from what the code produces.

use std::collections::BTreeSet;

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

/// Produces the schema of a body or parameter, registering named types.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` to `#/components/schemas/...` for named types).
pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A page of `T`s: `{items: [T], nextCursor?}` ([`crate::cursor::Page`]).
pub fn page<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    let item = g.subschema_for::<T>();
    json_schema!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": { "type": "array", "items": item },
            "nextCursor": { "type": "string", "description": "Where the next page starts; absent on the last page." }
        },
        "additionalProperties": false
    })
}

/// A string schema (path parameters whose shape the route checks itself).
pub fn string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
}

/// Raw bytes of another media type (PDF, XML).
pub fn binary(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "binary" })
}

/// A JWK Set of public keys, as `/.well-known/jwks.json` (EC P-256) and the
/// certificate and consent keys (OKP Ed25519) answer it.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One public key (RFC 7517).
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct Jwk {
    /// `EC` or `OKP`.
    pub kty: String,
    /// `P-256` or `Ed25519`.
    pub crv: String,
    /// Key id, as in the JWS header.
    pub kid: String,
    /// `ES256` or `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Public key (base64url).
    pub x: String,
    /// EC keys only (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// Who may call an operation. The route itself may narrow it further (owner
/// only), which the summary says; such calls by others answer 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token.
    Public,
    /// A citizen's access token.
    Citizen,
    /// An official's access token.
    Official,
    /// A citizen's or an official's access token.
    Anyone,
    /// An official whose token has this scope.
    Scope(&'static str),
}

/// Whether an operation reads `Idempotency-Key` / `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Not read.
    No,
    /// Read when sent.
    Optional,
    /// Refused without it.
    Required,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A `{name}` segment of the path.
    Path,
    /// `?name=`.
    Query,
}

/// A path or query parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Path or query.
    pub location: In,
    /// Whether it must be present (path parameters always are).
    pub required: bool,
    /// What it means.
    pub description: &'static str,
    /// Its schema.
    pub schema: SchemaFn,
}

/// A body of one media type.
#[derive(Debug, Clone)]
pub struct Content {
    /// Media type (`application/json`, `application/pdf`, ...).
    pub media: &'static str,
    /// Its schema.
    pub schema: SchemaFn,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// What it means.
    pub description: &'static str,
    /// Its bodies (none for 204).
    pub content: Vec<Content>,
    /// Response headers besides `x-request-id` (`ETag`, `Location`, `Cache-Control`).
    pub headers: Vec<&'static str>,
}

/// A problem the operation answers besides those the conventions add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// The stable dotted code.
    pub code: &'static str,
}

/// Shorthand for a [`Problem`].
pub const fn problem(status: u16, code: &'static str) -> Problem {
    Problem { status, code }
}

/// One route of api.md.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `GET`, `POST`, `PUT`, `DELETE`.
    pub method: &'static str,
    /// Path with `{name}` parameters, as in api.md and the template.
    pub path: &'static str,
    /// `operationId`, unique over the API (camelCase).
    pub id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Longer text (may be empty).
    pub description: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Step-up: `amr` with `otp` or `hwk`, `auth_time` at most 600 s old.
    pub strong: bool,
    /// `Idempotency-Key`.
    pub idempotency: Header,
    /// `If-Match`.
    pub if_match: Header,
    /// `?limit=&cursor=` and `{items, nextCursor}`.
    pub paged: bool,
    /// Path and query parameters (besides the paging ones).
    pub params: Vec<Param>,
    /// The request body, if any.
    pub body: Option<Content>,
    /// Whether the body may be omitted.
    pub body_optional: bool,
    /// Successful answers.
    pub replies: Vec<Reply>,
    /// Problems of this route (the conventions' problems are added).
    pub problems: Vec<Problem>,
}

impl Operation {
    /// A route called by `access`; add parameters, body and answers with the
    /// builder methods.
    pub fn new(method: &'static str, path: &'static str, id: &'static str, access: Access) -> Self {
        Operation {
            method,
            path,
            id,
            summary: "",
            description: "",
            access,
            strong: false,
            idempotency: Header::No,
            if_match: Header::No,
            paged: false,
            params: Vec::new(),
            body: None,
            body_optional: false,
            replies: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Sets the summary line and the description.
    pub fn doc(mut self, summary: &'static str, description: &'static str) -> Self {
        self.summary = summary;
        self.description = description;
        self
    }

    /// Needs a strong (step-up) token.
    pub fn strong(mut self) -> Self {
        self.strong = true;
        self
    }

    /// Reads `Idempotency-Key`.
    pub fn idempotency(mut self, header: Header) -> Self {
        self.idempotency = header;
        self
    }

    /// Reads `If-Match`.
    pub fn if_match(mut self, header: Header) -> Self {
        self.if_match = header;
        self
    }

    /// A list with `?limit=&cursor=`.
    pub fn paged(mut self) -> Self {
        self.paged = true;
        self
    }

    /// A `{name}` path parameter.
    pub fn path_param(mut self, name: &'static str, description: &'static str) -> Self {
        self.params.push(Param {
            name,
            location: In::Path,
            required: true,
            description,
            schema: string,
        });
        self
    }

    /// A `?name=` parameter.
    pub fn query(
        mut self,
        name: &'static str,
        required: bool,
        description: &'static str,
        schema: SchemaFn,
    ) -> Self {
        self.params.push(Param {
            name,
            location: In::Query,
            required,
            description,
            schema,
        });
        self
    }

    /// A JSON request body of type `T` (through [`schema`]).
    pub fn json_body(mut self, schema: SchemaFn) -> Self {
        self.body = Some(Content {
            media: "application/json",
            schema,
        });
        self
    }

    /// A request body of another media type.
    pub fn raw_body(mut self, media: &'static str) -> Self {
        self.body = Some(Content {
            media,
            schema: binary,
        });
        self
    }

    /// The body may be left out.
    pub fn body_optional(mut self) -> Self {
        self.body_optional = true;
        self
    }

    /// A JSON answer.
    pub fn reply(mut self, status: u16, description: &'static str, schema: SchemaFn) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content: vec![Content {
                media: "application/json",
                schema,
            }],
            headers: Vec::new(),
        });
        self
    }

    /// An answer without a body.
    pub fn no_content(mut self, description: &'static str) -> Self {
        self.replies.push(Reply {
            status: 204,
            description,
            content: Vec::new(),
            headers: Vec::new(),
        });
        self
    }

    /// Another media type for the last answer (content negotiation by `Accept`).
    pub fn or_media(mut self, media: &'static str) -> Self {
        if let Some(reply) = self.replies.last_mut() {
            reply.content.push(Content {
                media,
                schema: binary,
            });
        }
        self
    }

    /// A header on the last answer.
    pub fn with_header(mut self, name: &'static str) -> Self {
        if let Some(reply) = self.replies.last_mut() {
            reply.headers.push(name);
        }
        self
    }

    /// Problems the route answers besides the conventions' ones.
    pub fn problems(mut self, problems: &[Problem]) -> Self {
        self.problems.extend_from_slice(problems);
        self
    }

    /// Every problem this operation can answer: its own and those the
    /// conventions of api.md add for its access, parameters, body and headers.
    pub fn all_problems(&self) -> Vec<Problem> {
        let mut all = self.problems.clone();
        let mut add = |status, code| all.push(problem(status, code));
        if self.access != Access::Public {
            add(401, "auth.invalid_token");
            add(503, "auth.keys_unavailable");
        }
        match self.access {
            Access::Public | Access::Anyone => {}
            Access::Citizen | Access::Official => add(403, "auth.forbidden"),
            Access::Scope(_) => {
                add(403, "auth.forbidden");
                add(403, "auth.insufficient_scope");
            }
        }
        if self.strong {
            add(401, "auth.step_up_required");
        }
        if self.paged || self.params.iter().any(|p| p.location == In::Query) {
            add(400, "request.invalid");
        }
        if self.params.iter().any(|p| p.location == In::Path) {
            add(404, "not_found");
        }
        if self.body.is_some() {
            add(400, "request.invalid");
            add(400, "request.malformed_json");
            add(400, "request.body_missing");
            add(413, "request.too_large");
            add(415, "request.unsupported_media_type");
        }
        if self.idempotency != Header::No {
            add(400, "idempotency.key_invalid");
            add(409, "idempotency.in_progress");
            add(422, "idempotency.key_reused");
        }
        if self.if_match != Header::No {
            add(400, "request.invalid");
            add(412, "request.precondition_failed");
        }
        if self.if_match == Header::Required {
            add(428, "request.precondition_required");
        }
        add(500, "internal");
        let mut seen = BTreeSet::new();
        all.retain(|p| seen.insert((p.status, p.code)));
        all.sort_by_key(|p| (p.status, p.code));
        all
    }
}

/// The functions of the API, each with its operations: `(tag, description, operations)`.
pub type Groups = Vec<(&'static str, &'static str, Vec<Operation>)>;

/// The OpenAPI 3.1 document of `groups`.
///
/// # Panics
/// When two operations share an `operationId` or a method and path, or when two
/// types give different schemas under one component name: mistakes in the route
/// tables, which the freshness test catches.
pub fn document(version: &str, groups: &Groups) -> Value {
    let settings = |contract| {
        SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = contract;
        })
    };
    // Requests are described as serde reads them, answers as serde writes them.
    let mut requests = SchemaGenerator::new(settings(Contract::Deserialize));
    let mut answers = SchemaGenerator::new(settings(Contract::Serialize));
    let mut paths = Map::new();
    let mut ids = BTreeSet::new();
    let mut tags = Vec::new();
    for (tag, description, operations) in groups {
        tags.push(json!({ "name": tag, "description": description }));
        for op in operations {
            assert!(ids.insert(op.id), "operationId {} used twice", op.id);
            let entry = paths
                .entry(op.path)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("a path item is an object");
            let method = op.method.to_ascii_lowercase();
            assert!(
                !entry.contains_key(&method),
                "{} {} listed twice",
                op.method,
                op.path
            );
            entry.insert(method, operation(tag, op, &mut requests, &mut answers));
        }
    }
    let mut schemas = answers.take_definitions(true);
    for (name, schema) in requests.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) => assert_eq!(
                *existing, schema,
                "component {name} differs between requests and answers"
            ),
            None => {
                schemas.insert(name, schema);
            }
        }
    }
    schemas.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "pocketgov",
            "version": version,
            "summary": "The government in your hand: sign-in, certificates, tax refunds, hazard reports, consent and alerts.",
            "description": "The HTTP contract of docs/api.md, generated from the code of each function (cargo test checks that this file is current). Errors are application/problem+json (RFC 9457) with a stable dotted `code`; Korean titles and details when Accept-Language prefers ko.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "servers": [{ "url": "http://127.0.0.1:9000", "description": "cargo dev" }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Access token from POST /v1/auth/login (ES256, iss = the API's base URL, aud pocketgov, 900 s). Routes marked x-step-up need amr otp or hwk and auth_time at most 600 s old (RFC 9470)."
                }
            },
            "headers": {
                "RequestId": {
                    "description": "The request id, also in the function's logs.",
                    "schema": { "type": "string" }
                }
            }
        }
    })
}

fn operation(
    tag: &str,
    op: &Operation,
    requests: &mut SchemaGenerator,
    answers: &mut SchemaGenerator,
) -> Value {
    let mut params = Vec::new();
    for p in &op.params {
        params.push(json!({
            "name": p.name,
            "in": match p.location { In::Path => "path", In::Query => "query" },
            "required": p.required,
            "description": p.description,
            "schema": (p.schema)(requests),
        }));
    }
    if op.paged {
        params.push(json!({
            "name": "limit", "in": "query", "required": false,
            "description": "Items per page (default 20).",
            "schema": { "type": "integer", "minimum": 1, "maximum": 100 }
        }));
        params.push(json!({
            "name": "cursor", "in": "query", "required": false,
            "description": "nextCursor of the previous page (opaque; an altered cursor is refused).",
            "schema": { "type": "string" }
        }));
    }
    if op.idempotency != Header::No {
        params.push(json!({
            "name": "Idempotency-Key", "in": "header",
            "required": op.idempotency == Header::Required,
            "description": "The same key with the same body within 24 h replays the first answer (Idempotent-Replayed: true).",
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" }
        }));
    }
    if op.if_match != Header::No {
        params.push(json!({
            "name": "If-Match", "in": "header",
            "required": op.if_match == Header::Required,
            "description": "The version read, in quotes (the ETag of the resource).",
            "schema": { "type": "string", "pattern": "^(W/)?\"[0-9]{1,19}\"$" }
        }));
    }
    params.push(json!({
        "name": "Accept-Language", "in": "header", "required": false,
        "description": "ko for Korean problem titles and details, English otherwise.",
        "schema": { "type": "string" }
    }));

    let mut responses = Map::new();
    for reply in &op.replies {
        let mut headers = request_id_header();
        for name in &reply.headers {
            headers.insert((*name).to_owned(), header_schema(name));
        }
        if op.idempotency != Header::No {
            headers.insert(
                "Idempotent-Replayed".into(),
                json!({ "description": "true when this answer replays the first one for the key", "schema": { "type": "string", "enum": ["true"] } }),
            );
        }
        let mut response = json!({ "description": reply.description, "headers": headers });
        if !reply.content.is_empty() {
            let mut content = Map::new();
            for c in &reply.content {
                content.insert(c.media.into(), json!({ "schema": (c.schema)(answers) }));
            }
            response["content"] = Value::Object(content);
        }
        responses.insert(reply.status.to_string(), response);
    }
    let problems = op.all_problems();
    let statuses: BTreeSet<u16> = problems.iter().map(|p| p.status).collect();
    for status in statuses {
        let codes: Vec<&str> = problems
            .iter()
            .filter(|p| p.status == status)
            .map(|p| p.code)
            .collect();
        let mut headers = request_id_header();
        match status {
            401 => {
                headers.insert("WWW-Authenticate".into(), header_schema("WWW-Authenticate"));
            }
            423 | 429 | 503 => {
                headers.insert("Retry-After".into(), header_schema("Retry-After"));
            }
            _ => {}
        }
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("Problem: {}", codes.join(", ")),
                "headers": headers,
                "content": { "application/problem+json": { "schema": {
                    "allOf": [
                        { "$ref": "#/components/schemas/Problem" },
                        { "properties": { "status": { "const": status }, "code": { "enum": codes } } }
                    ]
                } } }
            }),
        );
    }

    let mut out = json!({
        "operationId": op.id,
        "tags": [tag],
        "summary": op.summary,
        "parameters": params,
        "responses": responses,
    });
    if !op.description.is_empty() {
        out["description"] = json!(op.description);
    }
    // Which token a tool (the fuzzer of tests/fuzz) should send.
    out["x-caller"] = json!(match op.access {
        Access::Public => "public",
        Access::Citizen => "citizen",
        Access::Official | Access::Scope(_) => "official",
        Access::Anyone => "anyone",
    });
    match op.access {
        Access::Public => out["security"] = json!([]),
        Access::Scope(scope) => out["security"] = json!([{ "bearer": [scope] }]),
        Access::Citizen => out["security"] = json!([{ "bearer": ["role:citizen"] }]),
        Access::Official => out["security"] = json!([{ "bearer": ["role:official"] }]),
        Access::Anyone => out["security"] = json!([{ "bearer": [] }]),
    }
    if op.strong {
        out["x-step-up"] = json!(true);
    }
    if let Some(body) = &op.body {
        out["requestBody"] = json!({
            "required": !op.body_optional,
            "content": { body.media: { "schema": (body.schema)(requests) } }
        });
    }
    out
}

fn request_id_header() -> Map<String, Value> {
    let mut headers = Map::new();
    headers.insert(
        "x-request-id".into(),
        json!({ "$ref": "#/components/headers/RequestId" }),
    );
    headers
}

fn header_schema(name: &str) -> Value {
    let description = match name {
        "ETag" => "The resource's version in quotes; send it back as If-Match.",
        "Location" => "The URL of the created resource.",
        "WWW-Authenticate" => {
            "Bearer error=\"invalid_token\", or error=\"insufficient_user_authentication\", max_age=600 for step-up (RFC 9470)."
        }
        "Retry-After" => "Seconds to wait before retrying.",
        "Cache-Control" => "How long the answer may be cached.",
        _ => "",
    };
    json!({ "description": description, "schema": { "type": "string" } })
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details; `code` is stable, title and detail follow Accept-Language.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": { "type": "string", "format": "uri" },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string" },
            "code": { "type": "string" },
            "errors": {
                "type": "array",
                "description": "The invalid fields, each named (a JSON path into the body, a parameter or a header).",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": { "type": "string" },
                        "message": { "type": "string" }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        login_id: String,
    }

    #[derive(serde::Serialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        user_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    fn ops() -> Groups {
        vec![(
            "login",
            "Sign-in",
            vec![
                Operation::new(
                    "POST",
                    "/v1/things/{thingId}",
                    "makeThing",
                    Access::Scope("things:make"),
                )
                .doc("Make a thing", "")
                .path_param("thingId", "The thing")
                .idempotency(Header::Required)
                .if_match(Header::Required)
                .json_body(schema::<Body>)
                .reply(201, "Made", schema::<Answer>)
                .with_header("Location")
                .problems(&[problem(409, "thing.taken")]),
            ],
        )]
    }

    #[test]
    fn a_route_table_documents_its_types_and_the_conventions_of_its_headers_and_access() {
        let doc = document("1", &ops());
        let op = &doc["paths"]["/v1/things/{thingId}"]["post"];
        assert_eq!(op["security"], json!([{ "bearer": ["things:make"] }]));
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Body"
        );
        let body = &doc["components"]["schemas"]["Body"];
        assert_eq!(body["additionalProperties"], false);
        assert_eq!(body["required"], json!(["loginId"]));
        let answer = &doc["components"]["schemas"]["Answer"];
        assert_eq!(answer["required"], json!(["userId"]));
        let conflicts = &op["responses"]["409"]["content"]["application/problem+json"]["schema"];
        assert_eq!(
            conflicts["allOf"][1]["properties"]["code"]["enum"],
            json!(["idempotency.in_progress", "thing.taken"])
        );
        for status in [
            "201", "400", "401", "403", "404", "412", "413", "415", "422", "428", "500", "503",
        ] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
        assert!(op["responses"]["201"]["headers"]["Location"].is_object());
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["thingId", "Idempotency-Key", "If-Match", "Accept-Language"]
        );
    }

    #[test]
    #[should_panic(expected = "used twice")]
    fn two_operations_with_one_id_are_refused() {
        let mut groups = ops();
        let again = groups[0].2[0].clone();
        groups[0].2.push(Operation {
            method: "GET",
            ..again
        });
        document("1", &groups);
    }
}
