#!/usr/bin/env python3
"""Crash storm: SIGKILL a real flipframe server again and again while clients upload.

    crash.py BINARY [--uploads N] [--kills K] [--clients C] [--seed S] [--moto]

Starts `BINARY serve` (files + SQLite, or S3 + DynamoDB on a moto_server it
starts with --moto), then C clients upload N distinct images (each with its
own Idempotency-Key, retried on connection errors, 409, 429 and 503 the way
`flipframe upload` retries) while the server is SIGKILLed K times at random
points and restarted on the same data. When every upload is acknowledged and
the log has settled, it checks what the storage and the log hold and prints

    crash[files]: acked=N done=N lost=0 stuck=0 orphans=0 temp_files=0 duplicates=0 errors=0 ...

lost: acknowledged but not `done` with its original byte for byte and a
1280x720 result; stuck: entries still pending or processing; orphans: stored
objects no entry names; temp_files: partial writes left behind; duplicates:
one upload's bytes in more than one entry; errors: answers other than 202 and
the retryable ones. Exits 1 unless all of those are 0.
"""
import argparse, http.client, json, os, random, socket, sqlite3, subprocess, sys, tempfile, threading, time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RETRYABLE, Server, dimensions, free_port, make_images  # noqa: E402

# ---------- the storm ----------

def upload_until_acknowledged(server, token, index, image, stats, lock):
    content_type, body = image
    headers = {"Content-Type": content_type, "Idempotency-Key": f"crash-{index}"}
    delay = 0.05
    while True:
        try:
            status, response_headers, answer = server.request("POST", "/v1/images", token, body, headers)
        except (OSError, http.client.HTTPException):
            with lock:
                stats["retries"] += 1
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        if status == 202:
            return json.loads(answer)["id"]
        if status in RETRYABLE:
            with lock:
                stats["retries"] += 1
            time.sleep(min(float(response_headers.get("Retry-After", "1")), 1.0))
            continue
        with lock:
            stats["errors"] += 1
            stats["error_samples"].append(f"{status} {answer[:200]!r}")
        return None


def list_entries(server, token):
    entries, cursor = [], None
    while True:
        path = "/v1/images?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, _, body = server.request("GET", path, token)
        if status != 200:
            raise RuntimeError(f"listing answered {status}: {body[:200]!r}")
        page = json.loads(body)
        entries += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return entries


def stored_keys(args, data, env):
    """Every object key in storage (originals/ID, transformed/ID.EXT), and partial writes."""
    if not args.moto:
        root = Path(data) / "objects"
        files = [p for p in root.rglob("*") if p.is_file()]
        keys = [str(p.relative_to(root)) for p in files if not p.name.startswith(".partial-")]
        partial = [str(p) for p in files if p.name.startswith(".partial-")]
        return keys, partial
    import boto3
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash", Prefix="flipframe/"):
        keys += [item["Key"].removeprefix("flipframe/") for item in page.get("Contents", [])]
    # S3 writes are atomic: an interrupted PUT leaves nothing; multipart uploads left open would.
    open_uploads = s3.list_multipart_uploads(Bucket="crash").get("Uploads", [])
    return keys, [u["Key"] for u in open_uploads]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--moto", action="store_true", help="S3 + DynamoDB on a moto_server this starts")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data = tempfile.mkdtemp(prefix="flipframe-crash-")
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "warn")
    moto = None
    if args.moto:
        moto_port = free_port()
        moto = subprocess.Popen(["moto_server", "-p", str(moto_port)], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(data, "moto.log"), "w"))
        env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
                   FLIPFRAME_STORAGE="s3://crash/flipframe", FLIPFRAME_LEDGER="dynamodb://crash")
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run([args.binary, "setup"], env=env, check=True, stdout=subprocess.DEVNULL)
    backend = "s3+dynamodb" if args.moto else "files"
    try:
        return storm(args, rng, data, env, backend)
    finally:
        if moto:
            moto.kill()


def storm(args, rng, data, env, backend):
    server = Server(args.binary, data, env)
    server.start()
    users = [f"user{n}" for n in range(3)]
    tokens = {u: subprocess.run([args.binary, "token", "dev", "--user", u, "--data-dir", data],
                                capture_output=True, text=True, check=True).stdout.strip() for u in users}
    images = make_images(args.uploads, rng)
    acked = {}
    stats = {"retries": 0, "errors": 0, "error_samples": []}
    lock = threading.Lock()
    queue = list(range(args.uploads))

    def client(n):
        token = tokens[users[n % len(users)]]
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop(0)
            id = upload_until_acknowledged(server, token, index, images[index], stats, lock)
            if id:
                with lock:
                    acked[index] = id

    started = time.time()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for _ in range(args.kills):
        time.sleep(rng.uniform(0.2, 1.2))
        server.kill()
        server.start()
    for thread in threads:
        thread.join()
    storm_seconds = time.time() - started

    # Let the log settle: every entry done or failed, within a bound.
    token = tokens[users[0]]
    deadline = time.time() + 120
    while True:
        entries = list_entries(server, token)
        unsettled = [e for e in entries if e["status"] in ("pending", "processing")]
        if not unsettled or time.time() > deadline:
            break
        time.sleep(0.5)
    by_id = {e["id"]: e for e in entries}

    lost = []
    for index, id in acked.items():
        entry = by_id.get(id)
        if not entry or entry["status"] != "done":
            lost.append(f"{id}: {entry and entry['status']} {entry and entry.get('failure')}")
            continue
        status, _, original = server.request("GET", f"/v1/images/{id}/original", token)
        status_t, _, transformed = server.request("GET", f"/v1/images/{id}/transformed", token)
        if status != 200 or original != images[index][1]:
            lost.append(f"{id}: original {status}, {len(original)} bytes, not the upload's")
        elif status_t != 200 or dimensions(transformed) != (1280, 720):
            lost.append(f"{id}: transformed {status_t}, {dimensions(transformed) if status_t == 200 else ''}")
    digests = {}
    for entry in entries:
        if entry.get("original") and entry["status"] != "failed":
            digests.setdefault(entry["original"]["sha256"], []).append(entry["id"])
    duplicates = sum(len(ids) - 1 for ids in digests.values())
    # Attempts a crash cut between entry and original that no retry resumed
    # (the client never heard 202 for them): failed, nothing kept.
    interrupted = sum(1 for e in entries if e["status"] == "failed"
                      and (e.get("failure") or {}).get("code") in ("original_missing", "storage_unavailable"))
    other_failed = sum(1 for e in entries if e["status"] == "failed") - interrupted
    exit_code = server.stop()

    keys, partial = stored_keys(args, data, env)
    originals = {f"originals/{e['id']}" for e in entries}
    results = {e["id"] for e in entries if e.get("transformed")}
    orphans = [key for key in keys if key not in originals
               and not (key.startswith("transformed/") and key.split("/")[1].split(".")[0] in results)]
    integrity = "n/a"
    if not args.moto:
        integrity = sqlite3.connect(os.path.join(data, "ledger.db")).execute("PRAGMA integrity_check").fetchone()[0]
    leftover = subprocess.run(["pgrep", "-f", f"--data-dir {data}"], capture_output=True, text=True).stdout.split()

    figures = dict(acked=len(acked), done=sum(1 for e in entries if e["status"] == "done"),
                   lost=len(lost), stuck=len(unsettled), orphans=len(orphans), temp_files=len(partial),
                   duplicates=duplicates, errors=stats["errors"])
    print(f"crash[{backend}]: " + " ".join(f"{k}={v}" for k, v in figures.items())
          + f" | kills={args.kills} starts={server.starts} retries={stats['retries']} interrupted={interrupted}"
          + f" refused={other_failed} integrity={integrity} sigterm_exit={exit_code} leftover_processes={len(leftover)}"
          + f" storm={storm_seconds:.1f}s")
    for line in (lost + orphans + partial + stats["error_samples"])[:20]:
        print("  ", line)
    ok = (len(acked) == args.uploads and not lost and not unsettled and not orphans and not partial
          and duplicates == 0 and stats["errors"] == 0 and integrity in ("ok", "n/a") and not leftover
          and other_failed == 0)
    if ok:
        subprocess.run(["rm", "-rf", data])
    else:
        print(f"   data kept in {data}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
