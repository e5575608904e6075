#!/usr/bin/env bash
# `just bench-cli`: N photos from a folder to --wait done through the
# flipframe client, against a standalone release server on this machine.
# Compared with (1) the sum of the server's own transform times during the
# client's run (the workers' CPU, from /metrics) divided by the cores: the
# ideal wall time, goal ≤ 1.2×; (2) the same transforms run one by one by
# `flipframe transform`;
# (3) the same uploads made by curl in parallel (xargs -P 4), waited for the
# same way. Prints one line of figures; exits 1 on a missed goal.
# `server_overhead` is the server's CPU beyond the transforms (receiving,
# hashing, storing, logging) as a share of them; `client/busy` is the wall
# time against all the CPU the server and the client used, ÷ cores: near 1.0
# means the cores never waited for the client.
set -euo pipefail
binary=$1
photos=$2
count=${3:-200}
cores=$(nproc)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# N files from the photo set, repeated under distinct names as needed.
mkdir -p "$work/in"
mapfile -t sources < <(find "$photos" -maxdepth 1 -name '*.jpg' | sort)
[ "${#sources[@]}" -gt 0 ] || { echo "bench-cli: no photos in $photos" >&2; exit 1; }
for i in $(seq 0 $((count - 1))); do
    cp "${sources[$((i % ${#sources[@]}))]}" "$work/in/photo-$i.jpg"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
FLIPFRAME_DATA_DIR="$work/data" FLIPFRAME_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
    "$binary" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$endpoint/healthz" >/dev/null && break; sleep 0.1; done
export FLIPFRAME_CONFIG_DIR="$work/config" FLIPFRAME_ENDPOINT="$endpoint"

now() { python3 -c 'import time; print(time.monotonic())'; }
# CPU seconds the workers have spent transforming, summed over formats.
transform_cpu() {
    curl -sf "$endpoint/metrics" | python3 -c 'import sys
print(sum(float(l.split()[-1]) for l in sys.stdin if l.startswith("flipframe_transform_cpu_seconds_sum")))'
}
# CPU seconds (user + system) of a process and everything under it.
tree_cpu() {
    python3 - "$1" <<'PY'
import os, sys
root, tick, parents, cpu = int(sys.argv[1]), os.sysconf("SC_CLK_TCK"), {}, {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    parents[int(pid)] = int(fields[1])
    cpu[int(pid)] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
def under(pid):
    while pid in parents:
        if pid == root:
            return True
        pid = parents[pid]
    return False
print(sum(t for pid, t in cpu.items() if under(pid)))
PY
}

# (1) The transforms alone, one at a time (the files repeat, so one pass over
# the distinct photos, scaled to N).
transform_sum=0
for source in "${sources[@]}"; do
    ms=$("$binary" transform "$source" "$work/out.jpg" 2>&1 | sed -n 's/.* in \([0-9.]*\) ms$/\1/p')
    transform_sum=$(python3 -c "print($transform_sum + $ms / 1000)")
done
transform_sum=$(python3 -c "print($transform_sum * $count / ${#sources[@]})")

# (2) The client: upload the folder and wait until everything is done.
"$binary" login --user bench-client >/dev/null 2>&1
server_cpu_before=$(tree_cpu "$server")
transform_cpu_before=$(transform_cpu)
start=$(now)
python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, file=open(sys.argv[1] + ".cpu", "w"))' \
    "$work/client.jsonl" "$binary" upload "$work/in" --wait --json --concurrency "${CONCURRENCY:-4}"
client=$(python3 -c "print($(now) - $start)")
server_cpu=$(python3 -c "print($(tree_cpu "$server") - $server_cpu_before)")
# Measured over the same seconds as the server's CPU: on a shared machine
# the same transforms cost a tenth more or less from one minute to the next.
server_sum=$(python3 -c "print($(transform_cpu) - $transform_cpu_before)")
client_cpu=$(cat "$work/client.jsonl.cpu")
done_client=$(grep -c '"status":"done"' "$work/client.jsonl" || true)

# (3) curl, as many at once as the client sends, waited for the same way.
token=$("$binary" token dev --user bench-curl --data-dir "$work/data")
start=$(now)
find "$work/in" -name '*.jpg' -print0 | xargs -0 -P "${CONCURRENCY:-4}" -I{} sh -c \
    'curl -s -o /dev/null -X POST -H "Authorization: Bearer $1" \
         -H "Content-Type: image/jpeg" --data-binary @"$0" "$2/v1/images"' {} "$token" "$endpoint"
unfinished() {
    local total=0 status
    for status in pending processing; do
        total=$((total + $(curl -s -H "Authorization: Bearer $token" \
            "$endpoint/v1/images?uploader=bench-curl&status=$status&limit=100" \
            | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')))
    done
    echo "$total"
}
# Every curl had its 202 before xargs returned: only processing is left.
until [ "$(unfinished)" -eq 0 ]; do sleep 0.2; done
curl_s=$(python3 -c "print($(now) - $start)")

python3 - "$count" "$done_client" "$client" "$transform_sum" "$server_sum" "$curl_s" "$cores" "$server_cpu" "$client_cpu" <<'PY'
import sys
count, done, client, transform_sum, server_sum, curl_s, cores, server_cpu, client_cpu = sys.argv[1:]
client, transform_sum, server_sum, curl_s, server_cpu, client_cpu = map(
    float, (client, transform_sum, server_sum, curl_s, server_cpu, client_cpu))
cores = int(cores)
ideal = server_sum / cores
print(f"bench-cli: files={count} done={done} cores={cores} client_s={client:.1f} "
      f"server_transform_sum_s={server_sum:.1f} ideal_s={ideal:.1f} client/ideal={client/ideal:.2f} "
      f"cli_transform_sum_s={transform_sum:.1f} client/cli_ideal={client/(transform_sum/cores):.2f} "
      f"curl_s={curl_s:.1f} client/curl={client/curl_s:.2f} "
      f"server_cpu_s={server_cpu:.1f} client_cpu_s={client_cpu:.1f} "
      f"server_overhead={(server_cpu - server_sum) / server_sum:.0%} "
      f"client/busy={client / ((server_cpu + client_cpu) / cores):.2f}")
ok = int(done) == int(count) and client / ideal <= 1.2
sys.exit(0 if ok else 1)
PY
