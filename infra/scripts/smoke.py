"""Smoke test of a deployment on moto, through the service itself: create a
user in the Terraform-made pool, sign in with the Terraform-made client
(USER_PASSWORD_AUTH), upload a photo, wait until it is processed, download the
1280x720 version, and fetch it again with the partner token whose hash
Terraform stored in SSM. Standard library only."""

import json
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

moto, service, outputs_file, partner_token = sys.argv[1:5]
outputs = {k: v["value"] for k, v in json.load(open(outputs_file)).items()}


def cognito(action, body):
    request = urllib.request.Request(
        moto + "/",
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"{}")


def call(method, path, token=None, body=None, headers=None):
    request = urllib.request.Request(service + path, data=body, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def png(width, height):
    """A PNG with an opaque gradient, built by hand."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width)) for y in range(height))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no SOF marker")


for _ in range(100):
    try:
        if call("GET", "/healthz")[0] == 200:
            break
    except OSError:
        pass
    time.sleep(0.2)
else:
    raise SystemExit("smoke: the service never answered")

# The bucket is TLS-only: moto refuses a plain-HTTP write, as S3 would.
bucket = outputs["bucket"]
aws_auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"}
try:
    urllib.request.urlopen(urllib.request.Request(f"{moto}/{bucket}/flipframe/originals/probe", data=b"x", method="PUT", headers=aws_auth))
    raise AssertionError("a plain-HTTP PUT got through the TLS-only bucket policy")
except urllib.error.HTTPError as error:
    assert error.code == 403, error.code
print("infra-test: the TLS-only bucket policy refuses plain HTTP")
# The emulator only speaks HTTP: lift the policy so the service can be exercised.
urllib.request.urlopen(urllib.request.Request(f"{moto}/{bucket}?policy", method="DELETE", headers=aws_auth))

# The console: its page is open, it signs in through the pool's Hosted UI,
# which calls back to the console on the API's address with the code flow.
status, headers, page = call("GET", "/")
assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"], (status, headers)
settings = json.loads(call("GET", "/console/config.json")[2])
assert settings["sign_in"]["authorization_endpoint"] == outputs["hosted_ui"] + "/oauth2/authorize", settings
assert settings["sign_in"]["client_id"] == outputs["client_id"], settings
client = cognito("DescribeUserPoolClient", {"UserPoolId": outputs["user_pool_id"], "ClientId": outputs["client_id"]})["UserPoolClient"]
assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"], client
assert outputs["api_url"].rstrip("/") + "/console/callback" in client["CallbackURLs"], client["CallbackURLs"]
cors = urllib.request.urlopen(urllib.request.Request(f"{moto}/{bucket}?cors", headers=aws_auth)).read().decode()
assert "PUT" in cors and outputs["api_url"].rstrip("/") in cors, cors
print("infra-test: the console is served and signs in through the Hosted UI")


def events(action, body):
    request = urllib.request.Request(moto + "/", data=json.dumps(body).encode(), headers={
        "X-Amz-Target": f"AWSEvents.{action}", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"{}")


# The scheduled sweep: a rule on a schedule whose one target is the processor.
rules = [r for r in events("ListRules", {})["Rules"] if r["Name"].endswith("-sweep")]
assert len(rules) == 1 and rules[0]["ScheduleExpression"].startswith("rate("), rules
targets = events("ListTargetsByRule", {"Rule": rules[0]["Name"]})["Targets"]
assert [t["Arn"].split(":")[-1] for t in targets] == [outputs["processor_function"]], targets
print(f"infra-test: the sweep runs the processor on {rules[0]['ScheduleExpression']}")

email, password = "smoke@example.com", "Smoke-Passw0rd!"
pool = outputs["user_pool_id"]
cognito("AdminCreateUser", {"UserPoolId": pool, "Username": email, "TemporaryPassword": "Temp-Passw0rd!1", "MessageAction": "SUPPRESS"})
cognito("AdminSetUserPassword", {"UserPoolId": pool, "Username": email, "Password": password, "Permanent": True})
signed_in = cognito("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": outputs["client_id"], "AuthParameters": {"USERNAME": email, "PASSWORD": password}})
token = signed_in["AuthenticationResult"]["AccessToken"]

status, _, body = call("POST", "/v1/images?filename=smoke.png", token, png(320, 200), {"Content-Type": "image/png"})
assert status == 202, (status, body)
image_id = json.loads(body)["id"]
for _ in range(300):
    entry = json.loads(call("GET", f"/v1/images/{image_id}", token)[2])
    if entry["status"] in ("done", "failed"):
        break
    time.sleep(0.2)
assert entry["status"] == "done", entry
status, headers, image = call("GET", f"/v1/images/{image_id}/transformed", token)
assert status == 200 and headers["Content-Type"] == "image/jpeg", (status, headers)
assert jpeg_size(image) == (1280, 720), jpeg_size(image)
status, _, again = call("GET", f"/v1/images/{image_id}/transformed", None, None, {"X-Api-Key": partner_token})
assert status == 200 and again == image, status
assert call("GET", "/v1/images", None, None, {"X-Api-Key": partner_token})[0] == 403
print(f"infra-test: smoke passed (signed in through the pool, {image_id} processed to 1280x720, partner token read from SSM)")
