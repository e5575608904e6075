#!/usr/bin/env python3
"""The Lambda zip's `bootstrap`, run the way Lambda runs it: two functions
(the API and the S3-event processor) poll a mock Lambda Runtime API, their
S3 bucket and DynamoDB table live in moto, and JWTs are checked against a
JWKS served here with a real RSA key. One photo goes the whole way: uploaded
through an API Gateway event, processed from an S3 event, listed, and
downloaded transformed with an external token. Exits non-zero on any miss.

usage: lambda-smoke.py BOOTSTRAP_ZIP PHOTO"""

import base64
import hashlib
import json
import os
import queue
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RUNTIME = "/2018-06-01/runtime"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_smoke"
CLIENT_ID = "flipframe-smoke"
BUCKET, TABLE = "flipframe-smoke", "flipframe-smoke-log"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """An RSA key, its JWKS, and Cognito-shaped access tokens signed with it."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        self.jwks = {"keys": [{"kty": "RSA", "kid": "smoke", "alg": "RS256", "use": "sig",
                               "n": b64url(n), "e": b64url(numbers.e.to_bytes(3, "big"))}]}

    def access_token(self, username: str) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "kid": "smoke", "typ": "JWT"}
        claims = {"sub": str(uuid.uuid4()), "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access",
                  "username": username, "iat": now, "exp": now + 600}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


class RuntimeApi:
    """Lambda's Runtime API for one function: `invoke` queues an event and
    waits for the function's answer, as the Lambda service does."""

    def __init__(self, jwks=None):
        self.events, self.answers = queue.Queue(), {}
        self.answered = threading.Condition()
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b"{}", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/jwks.json" and jwks:
                    return self.reply(200, json.dumps(jwks).encode())
                if self.path != f"{RUNTIME}/invocation/next":
                    return self.reply(404)
                request_id, event = runtime.events.get()
                deadline = str(int(time.time() * 1000) + 30_000)
                self.reply(200, json.dumps(event).encode(), [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", deadline),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:smoke"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.split("/")
                if self.path == f"{RUNTIME}/init/error":
                    runtime.answer("init", ("init error", body))
                elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    runtime.answer(parts[4], (parts[5], body))
                self.reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request_id, outcome):
        with self.answered:
            self.answers[request_id] = outcome
            self.answered.notify_all()

    def invoke(self, event, timeout=60):
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        deadline = time.time() + timeout
        with self.answered:
            while not (request_id in self.answers or "init" in self.answers):
                if self.function.poll() is not None:
                    raise SystemExit(f"the function exited with status {self.function.returncode}")
                if time.time() > deadline:
                    raise SystemExit(f"no answer to {request_id} within {timeout} s")
                self.answered.wait(0.2)
        if "init" in self.answers:
            raise SystemExit(f"the function failed to start: {self.answers['init'][1].decode()}")
        kind, body = self.answers[request_id]
        if kind != "response":
            raise SystemExit(f"the function reported an error: {body.decode()}")
        return json.loads(body)


def api_event(method, path, headers, body=None):
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012", "apiId": "smoke", "domainName": "smoke.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "smoke", "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "lambda-smoke"},
        },
    }
    if body is not None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def s3_event(key, size):
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "smoke"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {}, "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "originals",
            "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "smoke"}, "arn": f"arn:aws:s3:::{BUCKET}"},
            "object": {"key": key.replace("/", "%2F"), "size": size, "eTag": "0", "sequencer": "0"},
        },
    }]}


def body_of(response):
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def header(response, name):
    return {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get(name)


def jpeg_size(data):
    """Width and height from the first start-of-frame marker."""
    at = 2
    while at + 9 < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


def expect(what, condition, detail=""):
    print(f"{'ok  ' if condition else 'FAIL'} {what}" + (f": {detail}" if detail and not condition else ""))
    if not condition:
        raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def main():
    zip_path, photo_path = sys.argv[1:3]
    work = tempfile.mkdtemp(prefix="flipframe-lambda-smoke-")
    bootstrap = os.path.join(work, "bootstrap")
    with zipfile.ZipFile(zip_path) as archive, open(bootstrap, "wb") as out:
        out.write(archive.read("bootstrap"))
    os.chmod(bootstrap, 0o755)
    photo = open(photo_path, "rb").read()

    children, log_path = [], os.path.join(work, "functions.log")
    log = open(log_path, "wb")
    try:
        moto_port = free_port()
        children.append(subprocess.Popen(["moto_server", "-p", str(moto_port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        moto = f"http://127.0.0.1:{moto_port}"
        wait_for(f"{moto}/moto-api/")

        issuer = Issuer()
        external_token = secrets.token_urlsafe(32)
        api, processor = RuntimeApi(jwks=issuer.jwks), RuntimeApi()
        env = dict(
            os.environ,
            AWS_ENDPOINT_URL=moto, AWS_ACCESS_KEY_ID="smoke", AWS_SECRET_ACCESS_KEY="smoke", AWS_REGION="us-east-1",
            FLIPFRAME_STORAGE=f"s3://{BUCKET}", FLIPFRAME_LEDGER=f"dynamodb://{TABLE}",
            FLIPFRAME_COGNITO_ISSUER=ISSUER, FLIPFRAME_COGNITO_CLIENT_IDS=CLIENT_ID,
            FLIPFRAME_JWKS_URL=f"http://{api.address}/jwks.json",
            FLIPFRAME_EXTERNAL_TOKENS=f"partner:{hashlib.sha256(external_token.encode()).hexdigest()}",
            FLIPFRAME_LOG_FORMAT="json",
        )
        subprocess.run([bootstrap, "setup"], env=env, check=True, stdout=subprocess.DEVNULL)
        for role, runtime in (("api", api), ("processor", processor)):
            lambda_env = dict(
                env, AWS_LAMBDA_RUNTIME_API=runtime.address, FLIPFRAME_LAMBDA_ROLE=role,
                AWS_LAMBDA_FUNCTION_NAME=f"flipframe-{role}", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/flipframe-{role}",
                AWS_LAMBDA_LOG_STREAM_NAME="smoke",
            )
            # No arguments, as Lambda starts it: `bootstrap` must find its role in the environment.
            runtime.function = subprocess.Popen([bootstrap], env=lambda_env, cwd=work, stdout=log, stderr=log)
            children.append(runtime.function)

        signed_in = {"authorization": f"Bearer {issuer.access_token('alice')}"}
        partner = {"authorization": f"Bearer {external_token}"}

        response = api.invoke(api_event("GET", "/v1/images", {}))
        expect("no token: 401 problem+json", response["statusCode"] == 401
               and header(response, "content-type") == "application/problem+json", response)

        response = api.invoke(api_event("POST", "/v1/images", {**signed_in, "content-type": "image/jpeg"}, photo))
        expect("upload with a Cognito JWT: 202", response["statusCode"] == 202, response)
        entry = json.loads(body_of(response))
        image_id = entry["id"]

        outcome = processor.invoke(s3_event(f"originals/{image_id}", len(photo)))
        expect("the S3 event is processed", image_id in json.dumps(outcome), outcome)

        response = api.invoke(api_event("GET", f"/v1/images/{image_id}", signed_in))
        entry = json.loads(body_of(response))
        expect("the log says done, uploaded by alice", entry.get("status") == "done"
               and json.dumps(entry.get("uploader")).find("alice") >= 0, entry)

        response = api.invoke(api_event("GET", f"/v1/images/{image_id}/transformed", partner))
        transformed = body_of(response)
        expect("external token downloads a 1280x720 JPEG", response["statusCode"] == 200
               and header(response, "content-type") == "image/jpeg" and jpeg_size(transformed) == (1280, 720),
               (response["statusCode"], jpeg_size(transformed)))

        response = api.invoke(api_event("GET", f"/v1/images/{image_id}/original", partner))
        expect("external token may not download the original: 403", response["statusCode"] == 403, response)

        response = api.invoke(api_event("GET", f"/v1/images/{image_id}/original", signed_in))
        expect("signed in: the original comes back byte for byte", body_of(response) == photo)
        print("lambda smoke: both functions answered through the Runtime API")
    except SystemExit:
        log.flush()
        print(f"the functions' log, {log_path}:\n" + open(log_path, errors="replace").read()[-4000:])
        raise
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
