#!/usr/bin/env python3
"""Graceful stop and rolling restart of a real flipframe server (files + SQLite).

    drain.py BINARY [--uploads N] [--clients C] [--rolls R] [--seed S]

stop: C clients upload N distinct photos at once; SIGTERM arrives while
uploads are in flight. The server must answer every request it had begun
(202, never a cut connection), refuse new ones only by closing its
listener, exit 0 within its drain time, and leave nothing lost: after a
restart every acknowledged upload is `done` with its original byte for byte.

rolling: inside a network namespace of its own (root: `unshare -n`, loopback
up, net.ipv4.tcp_migrate_req=1), two instances share the port with
--reuse-port. While clients upload and read without any retry, the old
instance is replaced R times: a new one starts, then the old one gets
SIGTERM. Every request must get its answer.

Prints one line per part and exits 1 on a missed goal.
"""
import argparse, http.client, json, os, random, signal, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, dimensions, make_images  # noqa: E402

DRAIN_LIMIT_S = 30


def token_for(binary, data, user):
    return subprocess.run([binary, "token", "dev", "--user", user, "--data-dir", data],
                          capture_output=True, text=True, check=True).stdout.strip()


def settle(server, token, ids, images):
    """Waits for every id to finish; the ones not `done` byte for byte."""
    deadline, lost = time.time() + 120, []
    for index, id in ids.items():
        while True:
            status, _, body = server.request("GET", f"/v1/images/{id}", token)
            entry = json.loads(body) if status == 200 else {}
            if entry.get("status") in ("done", "failed") or time.time() > deadline:
                break
            time.sleep(0.2)
        status, _, original = server.request("GET", f"/v1/images/{id}/original", token)
        status_t, _, transformed = server.request("GET", f"/v1/images/{id}/transformed", token)
        if entry.get("status") != "done" or original != images[index][1] \
                or status_t != 200 or dimensions(transformed) != (1280, 720):
            lost.append(f"{id}: {entry.get('status')} {entry.get('failure')}")
    return lost


def graceful_stop(args, rng):
    data = tempfile.mkdtemp(prefix="flipframe-drain-")
    env = dict(os.environ, RUST_LOG="info")
    server = Server(args.binary, data, env, extra=["--workers", "2"])
    server.start()
    # Enough users that none passes its share of uploads in flight (8).
    tokens = [token_for(args.binary, data, f"drain-{n}") for n in range(args.uploads // 6 + 1)]
    token = tokens[0]
    images = make_images(args.uploads, rng)
    acked, cut, refused, errors = {}, [], [], []
    lock = threading.Lock()
    sent = threading.Semaphore(0)

    def upload(index):
        content_type, body = images[index]
        headers = {"Content-Type": content_type, "Idempotency-Key": f"drain-{index}"}
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.connect()
        except OSError:
            with lock:
                refused.append(index)  # the listener was already closed: nothing began
            return
        try:
            connection.request("POST", "/v1/images", body=body,
                               headers={"Authorization": f"Bearer {tokens[index // 6]}", **headers})
            sent.release()
            response = connection.getresponse()
            answer = response.read()
            with lock:
                if response.status == 202:
                    acked[index] = json.loads(answer)["id"]
                else:
                    errors.append(f"{response.status} {answer[:120]!r}")
        except (OSError, http.client.HTTPException) as error:
            with lock:
                cut.append(f"{index}: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(args.uploads)]
    for thread in threads[: args.clients]:
        thread.start()
    # SIGTERM once a few requests are on the wire, while the rest keep coming.
    for _ in range(min(args.clients, 4)):
        sent.acquire(timeout=30)
    term_at = time.time()
    server.process.send_signal(signal.SIGTERM)
    for thread in threads[args.clients:]:
        thread.start()
        time.sleep(rng.uniform(0, 0.01))
    for thread in threads:
        thread.join()
    try:
        exit_code = server.process.wait(timeout=DRAIN_LIMIT_S + 10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        exit_code = "timeout"
    drain_s = time.time() - term_at

    # A connection the kernel queued but the server never took is reset when
    # the listener closes: the client cannot tell that from a cut answer, so
    # it retries with its key, as it does after a refused connection. A
    # replay means the server had taken the request (its answer was cut: a
    # failure); a fresh 202 means it never began (refused at the door).
    server = Server(args.binary, data, env, extra=["--workers", "2"], log_name="restart.log")
    server.start()
    cut_indices = {int(line.split(":")[0]) for line in cut}
    refused_at_door = 0
    for index in sorted(cut_indices | set(refused)):
        content_type, body = images[index]
        status, headers, answer = server.request("POST", "/v1/images", tokens[index // 6], body, {
            "Content-Type": content_type, "Idempotency-Key": f"drain-{index}"})
        if status == 202 and headers.get("idempotent-replayed") != "true":
            refused_at_door += 1
            cut = [line for line in cut if not line.startswith(f"{index}:")]
            acked[index] = json.loads(answer)["id"]
        elif status != 202:
            errors.append(f"retry {index}: {status} {answer[:120]!r}")
    # What was acknowledged must be there after the next start.
    lost = settle(server, token, acked, images)
    server.stop()
    print(f"drain[stop]: uploads={args.uploads} acked={len(acked)} cut={len(cut)} refused_at_door={refused_at_door} "
          f"errors={len(errors)} lost={len(lost)} exit={exit_code} drain_s={drain_s:.1f}")
    for line in (cut + errors + lost)[:10]:
        print("  ", line)
    ok = not cut and not errors and not lost and exit_code == 0 and drain_s <= DRAIN_LIMIT_S
    return ok, data


def rolling_restart(args, rng):
    data = tempfile.mkdtemp(prefix="flipframe-rolling-")
    env = dict(os.environ, RUST_LOG="info")
    extra = ["--workers", "1", "--reuse-port"]
    generation = [0]

    def instance():
        generation[0] += 1
        return Server(args.binary, data, env, port=port, extra=extra, log_name=f"instance-{generation[0]}.log")

    port = Server(args.binary, data, env).port
    current = instance()
    current.start()
    token = token_for(args.binary, data, "rolling")
    images = make_images(max(args.uploads, 40), rng)
    stop = threading.Event()
    counts = {"requests": 0, "uploads": 0}
    acked, failures = {}, []
    lock = threading.Lock()

    def client(n):
        index = n
        while not stop.is_set():
            try:
                if index % 3 == 0 and index < len(images):
                    content_type, body = images[index]
                    status, _, answer = current.request(
                        "POST", "/v1/images", token, body,
                        {"Content-Type": content_type, "Idempotency-Key": f"roll-{index}"})
                    if status == 202:
                        with lock:
                            acked[index] = json.loads(answer)["id"]
                else:
                    status, _, answer = current.request("GET", "/v1/images?limit=5", token)
                with lock:
                    counts["requests"] += 1
                    if status not in (200, 202):
                        failures.append(f"{status} {answer[:120]!r}")
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    counts["requests"] += 1
                    failures.append(repr(error))
            index += args.clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    exits = []
    for _ in range(args.rolls):
        time.sleep(rng.uniform(0.5, 1.5))
        old, new = current, instance()
        new.start()
        old.process.send_signal(signal.SIGTERM)
        exits.append(old.process.wait(timeout=DRAIN_LIMIT_S + 10))
        current = new
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    lost = settle(current, token, acked, images)
    current.stop()
    print(f"drain[rolling]: restarts={args.rolls} requests={counts['requests']} uploads_acked={len(acked)} "
          f"failed={len(failures)} lost={len(lost)} exits={exits}")
    for line in (failures + lost)[:10]:
        print("  ", line)
    return not failures and not lost and all(code == 0 for code in exits), data


def in_own_namespace():
    """Re-runs this script in a network namespace of its own, where it may
    set net.ipv4.tcp_migrate_req without touching the host's."""
    if os.environ.get("FLIPFRAME_DRAIN_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        with open("/proc/sys/net/ipv4/tcp_migrate_req", "w") as setting:
            setting.write("1")
        return None
    if os.geteuid() != 0:
        return "not root: the rolling restart needs a network namespace of its own"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare -n is refused here: {probe.stderr.decode().strip()}"
    env = dict(os.environ, FLIPFRAME_DRAIN_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-n", sys.executable, *sys.argv], env=env).returncode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rolls", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    why_not = in_own_namespace()
    rng = random.Random(args.seed)
    results = [graceful_stop(args, rng)]
    if why_not:
        print(f"drain[rolling]: FAILED, {why_not}")
        results.append((False, None))
    else:
        results.append(rolling_restart(args, rng))
    for ok, data in results:
        if data and ok:
            subprocess.run(["rm", "-rf", data])
        elif data:
            print(f"   data kept in {data}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
