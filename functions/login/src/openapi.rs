//! The login routes as the API description lists them (`docs/openapi.json`;
//! the router is [`crate::App::handle`]).

use schemars::{Schema, SchemaGenerator, json_schema};
use shared::openapi::{Access, JwkSet, Operation, problem, schema};

use crate::request::{
    DeviceChallengeBody, DeviceLoginBody, LoginBody, NewDeviceBody, OtpConfirmBody, OtpLoginBody,
    PatternBody, PatternLoginBody, RefreshBody, SignupBody,
};
use crate::sessions::{MfaRequired, TokenResponse};
use crate::views::{
    DeviceChallenge, DeviceList, OpenIdConfiguration, OtpEnrolment, RegisteredDevice, SignedUp,
};

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "login",
    "Identity and tokens: signup, sign-in by password (with TOTP), device key or pattern, refresh-token rotation, logout, and the keys and discovery document that verify the tokens.",
);

/// The answer of a correct password: tokens, or the MFA step when OTP is on.
fn tokens_or_mfa(g: &mut SchemaGenerator) -> Schema {
    let tokens = g.subschema_for::<TokenResponse>();
    let mfa = g.subschema_for::<MfaRequired>();
    json_schema!({ "oneOf": [tokens, mfa] })
}

/// The routes of `login`, in api.md's order.
pub fn operations() -> Vec<Operation> {
    let device_id = ("deviceId", "The device's id (UUID).");
    let invalid_credentials = problem(401, "auth.invalid_credentials");
    // The handlers of the signed-in routes read the caller's profile; a token
    // of an account that no longer exists is answered 404.
    let no_account = problem(404, "not_found");
    // Adding a device key or replacing an active OTP needs a recent sign-in
    // (strong when the account has OTP): a condition on the account, not on
    // every call, so these routes are not marked strong but list the problem.
    let step_up = problem(401, "auth.step_up_required");
    vec![
        Operation::new("POST", "/v1/auth/signup", "signUp", Access::Public)
            .doc(
                "Create a citizen account",
                "Officials are provisioned, not signed up. The phone number is stored as E.164.",
            )
            .json_body(schema::<SignupBody>)
            .reply(201, "The account was created", schema::<SignedUp>)
            .problems(&[
                problem(400, "auth.weak_password"),
                problem(409, "auth.login_id_taken"),
            ]),
        Operation::new("POST", "/v1/auth/login", "logIn", Access::Public)
            .doc(
                "Sign in with loginId and password",
                "Answers tokens (amr [\"pwd\"]), or, when OTP is enabled, the MFA step to finish at POST /v1/auth/login/otp. 5 consecutive failures lock the loginId for 15 min; unknown loginIds and wrong passwords get the same 401.",
            )
            .json_body(schema::<LoginBody>)
            .reply(200, "Signed in, or the second factor is needed", tokens_or_mfa)
            .with_header("Cache-Control")
            .problems(&[invalid_credentials, problem(423, "auth.locked")]),
        Operation::new("POST", "/v1/auth/login/otp", "logInWithOtp", Access::Public)
            .doc(
                "Finish a password sign-in with a TOTP code",
                "amr [\"pwd\",\"otp\"]. The mfaToken works once; a code is accepted at most once. Failed codes count towards the loginId's lock.",
            )
            .json_body(schema::<OtpLoginBody>)
            .reply(200, "Signed in", schema::<TokenResponse>)
            .with_header("Cache-Control")
            .problems(&[
                problem(401, "auth.invalid_mfa_token"),
                problem(401, "auth.invalid_otp"),
                problem(401, "auth.otp_replayed"),
                problem(423, "auth.locked"),
            ]),
        Operation::new("POST", "/v1/auth/otp", "startOtp", Access::Anyone)
            .doc(
                "Start TOTP enrolment",
                "A new secret, not active until confirmed. Replacing an active OTP needs a strong sign-in at most 600 s old (401 auth.step_up_required).",
            )
            .reply(200, "The new secret", schema::<OtpEnrolment>)
            .with_header("Cache-Control")
            .problems(&[step_up, no_account]),
        Operation::new("POST", "/v1/auth/otp/confirm", "confirmOtp", Access::Anyone)
            .doc(
                "Confirm TOTP enrolment with a code from the new secret",
                "OTP is then required at password login.",
            )
            .json_body(schema::<OtpConfirmBody>)
            .no_content("OTP is on")
            .problems(&[
                no_account,
                problem(409, "auth.otp_not_started"),
                problem(422, "auth.invalid_otp"),
            ]),
        Operation::new("POST", "/v1/auth/devices", "registerDevice", Access::Anyone)
            .doc(
                "Register a device key",
                "Needs a sign-in at most 600 s old, and a strong one when the account has OTP (401 auth.step_up_required). Sends a security notice (event auth.device_registered). At most 10 devices.",
            )
            .json_body(schema::<NewDeviceBody>)
            .reply(201, "The device was registered", schema::<RegisteredDevice>)
            .problems(&[step_up, no_account, problem(409, "auth.too_many_devices")]),
        Operation::new("GET", "/v1/auth/devices", "listDevices", Access::Anyone)
            .doc("The caller's devices, oldest first", "")
            .reply(200, "The devices", schema::<DeviceList>),
        Operation::new(
            "DELETE",
            "/v1/auth/devices/{deviceId}",
            "removeDevice",
            Access::Anyone,
        )
        .doc("Remove one of the caller's devices (404 for anyone else's)", "")
        .path_param(device_id.0, device_id.1)
        .no_content("The device was removed"),
        Operation::new(
            "POST",
            "/v1/auth/login/device/challenge",
            "deviceChallenge",
            Access::Public,
        )
        .doc("A single-use challenge for a device key", "Valid 120 s.")
        .json_body(schema::<DeviceChallengeBody>)
        .reply(200, "The challenge", schema::<DeviceChallenge>)
        .with_header("Cache-Control")
        .problems(&[problem(404, "auth.unknown_device")]),
        Operation::new(
            "POST",
            "/v1/auth/login/device",
            "logInWithDevice",
            Access::Public,
        )
        .doc(
            "Sign in with a device key",
            "amr [\"hwk\"]. The signature covers the UTF-8 bytes of the challenge; each challenge works once, right or wrong.",
        )
        .json_body(schema::<DeviceLoginBody>)
        .reply(200, "Signed in", schema::<TokenResponse>)
        .with_header("Cache-Control")
        .problems(&[invalid_credentials, problem(401, "auth.invalid_challenge")]),
        Operation::new(
            "PUT",
            "/v1/auth/devices/{deviceId}/pattern",
            "setDevicePattern",
            Access::Anyone,
        )
        .doc(
            "Set or replace the unlock pattern of one of the caller's devices",
            "Resets the device's count of wrong patterns.",
        )
        .path_param(device_id.0, device_id.1)
        .json_body(schema::<PatternBody>)
        .no_content("The pattern was set"),
        Operation::new(
            "POST",
            "/v1/auth/login/pattern",
            "logInWithPattern",
            Access::Public,
        )
        .doc(
            "Sign in with a device's pattern",
            "amr [\"pattern\"]. 5 consecutive wrong patterns disable pattern login on the device until the next password login.",
        )
        .json_body(schema::<PatternLoginBody>)
        .reply(200, "Signed in", schema::<TokenResponse>)
        .with_header("Cache-Control")
        .problems(&[invalid_credentials, problem(423, "auth.pattern_locked")]),
        Operation::new("POST", "/v1/auth/token", "refreshToken", Access::Public)
            .doc(
                "Exchange a refresh token for new tokens",
                "The refresh token works once. Presenting a used one revokes every token of its sign-in (401 auth.refresh_reused).",
            )
            .json_body(schema::<RefreshBody>)
            .reply(200, "New tokens, with a new refresh token", schema::<TokenResponse>)
            .with_header("Cache-Control")
            .problems(&[
                problem(401, "auth.invalid_refresh_token"),
                problem(401, "auth.refresh_reused"),
            ]),
        Operation::new("POST", "/v1/auth/logout", "logOut", Access::Public)
            .doc(
                "End the sign-in of a refresh token",
                "Its refresh tokens stop working. Unknown tokens are ignored.",
            )
            .json_body(schema::<RefreshBody>)
            .no_content("Signed out"),
        Operation::new("GET", "/.well-known/jwks.json", "jwks", Access::Public)
            .doc("The public keys of the access tokens (JWK Set, EC P-256)", "")
            .reply(200, "The JWK Set", schema::<JwkSet>)
            .with_header("Cache-Control"),
        Operation::new(
            "GET",
            "/.well-known/openid-configuration",
            "openidConfiguration",
            Access::Public,
        )
        .doc("The discovery document of the token issuer", "")
        .reply(200, "The discovery document", schema::<OpenIdConfiguration>),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The path with each `{param}` replaced by an id, split as the router sees it.
    fn segments(path: &str) -> Vec<&str> {
        path.trim_start_matches('/')
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "00000000-0000-4000-8000-000000000000"
                } else {
                    s
                }
            })
            .collect()
    }

    #[test]
    fn each_path_lists_exactly_the_methods_the_router_answers() {
        let mut listed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for op in operations() {
            listed.entry(op.path).or_default().insert(op.method);
        }
        for (path, methods) in listed {
            let routed: BTreeSet<&str> = crate::allowed_methods(&segments(path))
                .unwrap_or_else(|| panic!("{path} is not routed"))
                .split(", ")
                .collect();
            assert_eq!(methods, routed, "{path}");
        }
    }

    #[test]
    fn a_password_sign_in_answers_tokens_or_the_mfa_step() {
        let doc = shared::openapi::document("test", &vec![(TAG.0, TAG.1, operations())]);
        let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"]["200"];
        assert_eq!(
            login["content"]["application/json"]["schema"]["oneOf"],
            serde_json::json!([
                { "$ref": "#/components/schemas/TokenResponse" },
                { "$ref": "#/components/schemas/MfaRequired" }
            ])
        );
        let mfa = &doc["components"]["schemas"]["MfaRequired"];
        assert_eq!(
            mfa["required"],
            serde_json::json!(["mfaRequired", "mfaToken", "methods"])
        );
        let locked = &doc["paths"]["/v1/auth/login"]["post"]["responses"]["423"];
        assert!(locked["headers"]["Retry-After"].is_object());
    }
}
