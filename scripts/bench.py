#!/usr/bin/env python3
"""Side by side, in one run on one machine: flipframe's whole pipeline
(`flipframe transform`) against sharp (libvips, in-process, one thread), on
each image of the set, two ways:
- fresh: the first transform of a new process (as the CLI runs it), with the
  process's peak RSS;
- warm: the median of WARM more transforms in one process (as the server runs it).
Prints per image the medians over RUNS rounds, flipframe's ratios to sharp,
and the PSNR of flipframe's output against sharp's.

usage: bench.py IMAGES FLIPFRAME NODE_DIR [RUNS] [WARM]"""

import os
import re
import statistics
import subprocess
import sys
import tempfile

images, flipframe, node_dir = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
warm_runs = int(sys.argv[5]) if len(sys.argv) > 5 else 5
# ES modules resolve packages from the script's folder: run a copy beside node_modules.
sharp_script = os.path.join(os.path.abspath(node_dir), "bench-sharp.mjs")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-sharp.mjs")) as source, open(sharp_script, "w") as copy:
    copy.write(source.read())
scratch = tempfile.mkdtemp(prefix="flipframe-bench-")
single_thread = dict(os.environ, VIPS_CONCURRENCY="1", RAYON_NUM_THREADS="1")


def run(command, env=single_thread, cwd=None):
    """Runs a command; returns (stdout+stderr text, wall ms, peak RSS MiB)."""
    import time

    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    if status != 0:
        raise SystemExit(f"{command[0]} failed on {command}: {output}")
    return output, wall, usage.ru_maxrss / 1024


def flipframe_run(image, out, repeat):
    output, _, rss = run([flipframe, "transform", image, out, "--repeat", str(repeat)])
    first = float(re.search(r"in ([0-9.]+) ms", output).group(1))
    warm = re.search(r"warm median of [0-9]+: ([0-9.]+) ms", output)
    return first, (float(warm.group(1)) if warm else None), rss


def sharp_run(image, out, repeat):
    output, _, rss = run(["node", sharp_script, image, out, str(repeat)], cwd=node_dir)
    lines = output.strip().splitlines()
    return float(lines[0]), (float(lines[1]) if repeat else None), rss


def psnr(a, b):
    result = subprocess.run(["compare", "-metric", "PSNR", a, b, "null:"], capture_output=True, text=True)
    value = result.stderr.strip().split()[0] if result.stderr.strip() else "nan"
    return float(value) if value not in ("inf", "nan") else float("inf")


def decibels(value):
    # Infinite when the two outputs decode to the same pixels.
    return f"{value:>8.1f}" if value != float("inf") else f"{'same':>8}"


tools = [("flipframe", flipframe_run), ("sharp", sharp_run)]
print(f"{runs} rounds, medians; warm = median of {warm_runs} runs after the first in one process;")
print(f"one thread; {os.uname().nodename}, {os.cpu_count()} cores\n")
print(
    f"{'image':<30} {'fresh ms':>17} {'ratio':>6} {'warm ms':>17} {'ratio':>6}"
    f" {'peak RSS MiB':>13} {'ratio':>6} {'PSNR dB':>8}"
)
pair = f"{'flipframe':>9} {'sharp':>7}"
print(f"{'':<30} {pair} {'':>6} {pair} {'':>6} {'ours':>6} {'sharp':>6}")
worst = {"fresh": 0.0, "warm": 0.0, "rss": 0.0}
for name in sorted(os.listdir(images)):
    if name.startswith("."):
        continue
    image = os.path.join(images, name)
    fresh = {tool: [] for tool, _ in tools}
    warm = {tool: [] for tool, _ in tools}
    rss = {tool: [] for tool, _ in tools}
    outputs = {}
    for _ in range(runs):
        # Interleaved, so machine noise hits every tool alike. The fresh run
        # alone in its process, so its RSS is one transform's.
        for tool, measure in tools:
            extension = ".png" if name.endswith(".png") else ".jpg"
            out = os.path.join(scratch, f"{name}.{tool}{extension}")
            first, _, peak = measure(image, out, 0)
            fresh[tool].append(first)
            rss[tool].append(peak)
            outputs[tool] = out
            if warm_runs:
                warm[tool].append(measure(image, out + ".warm" + extension, warm_runs)[1])
    f = {tool: statistics.median(fresh[tool]) for tool in fresh}
    w = {tool: statistics.median(warm[tool]) if warm[tool] else float("nan") for tool in warm}
    peak = {tool: max(rss[tool]) for tool in rss}
    ratios = {"fresh": f["flipframe"] / f["sharp"], "warm": w["flipframe"] / w["sharp"], "rss": peak["flipframe"] / peak["sharp"]}
    worst = {key: max(worst[key], ratios[key]) for key in worst}
    quality = psnr(outputs["flipframe"], outputs["sharp"])
    print(
        f"{name:<30} {f['flipframe']:>9.1f} {f['sharp']:>7.1f} {ratios['fresh']:>6.2f}"
        f" {w['flipframe']:>9.1f} {w['sharp']:>7.1f} {ratios['warm']:>6.2f}"
        f" {peak['flipframe']:>6.0f} {peak['sharp']:>6.0f} {ratios['rss']:>6.2f} {decibels(quality)}",
        flush=True,
    )
print(f"\nratio = flipframe / sharp (goal <= 0.5); worst: fresh {worst['fresh']:.2f}, warm {worst['warm']:.2f}, RSS {worst['rss']:.2f}")
