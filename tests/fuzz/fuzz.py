#!/usr/bin/env python3
"""Fuzz every route of docs/openapi.json with schemathesis against the local stack.

    .venv/bin/python tests/fuzz/fuzz.py                     # 50 examples per route
    .venv/bin/python tests/fuzz/fuzz.py --max-examples 5    # what CI runs (.ci/run)

Starts `cargo dev` unless an API already answers on --base (then it uses that
one), signs in as the demo users of design.md (citizen1 with a device key, so
its token is strong; official1 with every scope), and runs schemathesis three
times: citizen token on public, citizen and shared routes; official token on
official and shared routes. It fails on any 5xx, any answer that breaks the
document's schemas (bodies and headers), any status code or media type the
document does not list. Reports (JUnit) go to target/fuzz/.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])
# One GET per function, so cargo lambda watch has compiled each before the
# fuzzer's per-request timeout starts counting.
WARM_UP = [
    "/.well-known/jwks.json",
    "/v1/certificates/keys",
    "/v1/consents/keys",
    "/v1/alerts?region=11",
    "/v1/tax/bills",
    "/v1/reports",
]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def call(base: str, method: str, path: str, body=None, token=None, timeout=30.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw) if raw else None
        except ValueError:
            return err.code, raw


def wait_for(base: str, path: str, deadline: float, stack) -> None:
    while time.time() < deadline:
        if stack is not None and stack.poll() is not None:
            sys.exit(f"fuzz: cargo dev exited ({stack.returncode}) before {path} answered")
        try:
            status, _ = call(base, "GET", path, timeout=600)
            if status < 500:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(2)
    sys.exit(f"fuzz: {base}{path} did not answer in time")


def sign_in(base: str, login_id: str, password: str) -> str:
    status, body = call(base, "POST", "/v1/auth/login", {"loginId": login_id, "password": password})
    if status != 200 or "accessToken" not in body:
        sys.exit(f"fuzz: {login_id} could not sign in ({status}): {body}")
    return body["accessToken"]


def strong_citizen(base: str) -> str:
    """citizen1 signed in with a fresh device key (amr hwk): a strong token."""
    weak = sign_in(base, "citizen1", "Citizen1-pocketgov")
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    status, body = call(base, "POST", "/v1/auth/devices",
                        {"deviceName": "fuzz", "publicKey": b64url(spki)}, token=weak)
    if status != 201:
        sys.exit(f"fuzz: device registration failed ({status}): {body}")
    device = body["deviceId"]
    status, body = call(base, "POST", "/v1/auth/login/device/challenge", {"deviceId": device})
    if status != 200:
        sys.exit(f"fuzz: device challenge failed ({status}): {body}")
    challenge = body["challenge"]
    signature = key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256()))
    status, body = call(base, "POST", "/v1/auth/login/device",
                        {"deviceId": device, "challenge": challenge, "signature": b64url(signature)})
    if status != 200:
        sys.exit(f"fuzz: device sign-in failed ({status}): {body}")
    return body["accessToken"], device


def forget_device(base: str, device: str) -> None:
    """Removes the run's device key, so repeated runs do not fill citizen1's devices."""
    token = sign_in(base, "citizen1", "Citizen1-pocketgov")
    call(base, "DELETE", f"/v1/auth/devices/{device}", token=token)


def schemathesis(base: str, token: str | None, include_by: str, name: str, args) -> int:
    report = ROOT / "target" / "fuzz"
    report.mkdir(parents=True, exist_ok=True)
    command = [
        str(VENV_BIN / "st"), "run", f"{base}/openapi.json",
        "--url", base,
        "--checks", CHECKS,
        "--max-examples", str(args.max_examples),
        "--phases", args.phases,
        "--include-by", include_by,
        "--workers", str(args.workers),
        "--request-timeout", "60",
        "--seed", str(args.seed),
        "--suppress-health-check", "all",
        "--report", "junit",
        "--report-junit-path", str(report / f"{name}.xml"),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    print(f"--- schemathesis, {name} token, operations where {include_by}", flush=True)
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=str(Path(__file__).parent))
    # Run inside target/ so hypothesis's example database (.hypothesis/) is not
    # written into the working tree, which cargo lambda watch would take for a
    # source change and restart every function mid-request.
    return subprocess.call(command, cwd=report, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:9000")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--startup-minutes", type=float, default=30)
    args = parser.parse_args()

    stack = None
    try:
        call(args.base, "GET", "/openapi.json", timeout=5)
        print(f"fuzz: using the API already on {args.base}", flush=True)
    except (urllib.error.URLError, ConnectionError, OSError):
        print("fuzz: starting cargo dev", flush=True)
        stack = subprocess.Popen(["cargo", "dev"], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.time() + args.startup_minutes * 60
        for path in WARM_UP:
            wait_for(args.base, path, deadline, stack)
        citizen, device = strong_citizen(args.base)
        official = sign_in(args.base, "official1", "Official1-pocketgov")
        failures = 0
        failures += schemathesis(args.base, citizen, '/x-caller != "official"', "citizen", args) != 0
        failures += schemathesis(args.base, official, '/x-caller == "official"', "official", args) != 0
        failures += schemathesis(args.base, official, '/x-caller == "anyone"', "official-shared", args) != 0
        forget_device(args.base, device)
        print("--- fuzz: " + ("ok" if failures == 0 else f"{failures} run(s) failed"), flush=True)
        return 0 if failures == 0 else 1
    finally:
        if stack is not None:
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
