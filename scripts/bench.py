#!/usr/bin/env python3
"""Side by side, in one run on one machine: flipframe's whole pipeline
(`flipframe transform`) against sharp (libvips, in-process, one thread) and
the libvips CLI, on each image of the set. Prints per image x tool the median
milliseconds and peak RSS, flipframe's ratios to sharp, and the PSNR of
flipframe's output against sharp's.

usage: bench.py IMAGES FLIPFRAME NODE_DIR [RUNS]"""

import os
import re
import statistics
import subprocess
import sys
import tempfile

images, flipframe, node_dir = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
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


def flipframe_run(image, out):
    output, _, rss = run([flipframe, "transform", image, out])
    return float(re.search(r"in ([0-9.]+) ms", output).group(1)), rss


def sharp_run(image, out):
    output, _, rss = run(["node", sharp_script, image, out], cwd=node_dir)
    return float(output.strip().splitlines()[-1]), rss


def vips_run(image, out):
    # libvips' own shrink-on-load thumbnail, then the 180° turn: two processes, wall time.
    middle = out + ".v"
    _, first, rss1 = run(["vips", "thumbnail", image, middle, "1280", "--height", "720", "--crop", "centre"])
    _, second, rss2 = run(["vips", "rot", middle, out + "[Q=85]", "d180"])
    return first + second, max(rss1, rss2)


def psnr(a, b):
    result = subprocess.run(["compare", "-metric", "PSNR", a, b, "null:"], capture_output=True, text=True)
    value = result.stderr.strip().split()[0] if result.stderr.strip() else "nan"
    return float(value) if value not in ("inf", "nan") else float("inf")


tools = [("flipframe", flipframe_run), ("sharp", sharp_run), ("vips-cli", vips_run)]
print(f"{runs} runs each, medians; one thread; {os.uname().nodename}, {os.cpu_count()} cores\n")
header = f"{'image':<30} " + " ".join(f"{name + ' ms':>12} {name + ' MiB':>13}" for name, _ in tools)
print(header + f" {'time ratio':>10} {'RSS ratio':>9} {'PSNR dB':>8}")
for name in sorted(os.listdir(images)):
    if name.startswith("."):
        continue
    image = os.path.join(images, name)
    times = {tool: [] for tool, _ in tools}
    rss = {tool: [] for tool, _ in tools}
    outputs = {}
    for _ in range(runs):
        # Interleaved, so machine noise hits every tool alike.
        for tool, measure in tools:
            extension = ".png" if name.endswith(".png") and tool != "vips-cli" else ".jpg"
            out = os.path.join(scratch, f"{name}.{tool}{extension}")
            ms, peak = measure(image, out)
            times[tool].append(ms)
            rss[tool].append(peak)
            outputs[tool] = out
    med = {tool: statistics.median(times[tool]) for tool in times}
    peak = {tool: max(rss[tool]) for tool in rss}
    row = f"{name:<30} " + " ".join(f"{med[tool]:>12.1f} {peak[tool]:>13.0f}" for tool, _ in tools)
    quality = psnr(outputs["flipframe"], outputs["sharp"])
    print(row + f" {med['flipframe'] / med['sharp']:>10.2f} {peak['flipframe'] / peak['sharp']:>9.2f} {quality:>8.1f}", flush=True)
print("\ntime ratio = flipframe / sharp median (goal <= 0.5); RSS ratio = peak RSS, flipframe / sharp (goal <= 0.5)")
