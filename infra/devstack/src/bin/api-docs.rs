//! `GET /openapi.json` under `cargo dev`: the API description
//! (`docs/openapi.json`, generated from the functions' route tables) served by
//! cargo lambda watch like any function, so that a client generator or a fuzzer
//! such as schemathesis reads it from the same base URL it calls. Not deployed:
//! in the cloud the document ships with the repository and the README.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Error, Request, Response, service_fn};

/// The committed document (a rebuild picks up a new one).
const DOCUMENT: &str = include_str!("../../../../docs/openapi.json");

async fn serve(req: Request) -> Result<Response<Body>, Error> {
    let response = if req.uri().path().ends_with("/openapi.json") {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::Text(DOCUMENT.to_owned()))?
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::Empty)?
    };
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(serve)).await
}
