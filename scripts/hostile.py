#!/usr/bin/env python3
"""Hostile uploads against a real flipframe binary, while a normal user uploads.

    hostile.py BINARY [--cases N] [--seed S] [--photo FILE]

Starts `BINARY serve` with embedded defaults in a temp folder, opens 400
stalled connections and 12 trickling uploads, then sends N seeded hostile
cases from 8 concurrent clients (one attacker account) while another user
uploads a real photo every 0.3 s. Prints one line and exits 1 when a goal is
missed: 0 5xx, 0 crashes, worst CPU <= 2 s, peak RSS (server + its decoder
workers) < 512 MiB, normal upload p99 < 2 s, stalled connections closed < 30 s.
"""
import argparse, http.client, os, random, select, socket, struct, subprocess, sys
import tempfile, threading, time, zlib
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "service/tests/fixtures"


# ---------- generators: each returns (name, bytes) ----------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

def png(width, height, rows=None, extra=b"", colour=0, depth=8):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    if rows is None:
        rows = zlib.compress(b"\0" * (min(width, 1 << 15) + 1) * min(height, 64))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")

def zero_png(side):
    # A decompression bomb within the pixel limit: side² grey pixels of zeros.
    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return png(side, side, data)

def jpeg_segments(jpeg):
    """(head up to first SOS, [scans], tail)"""
    at, scans, head_end = 2, [], None
    while jpeg[at + 1] != 0xD9:
        length = int.from_bytes(jpeg[at + 2:at + 4], "big")
        if jpeg[at + 1] != 0xDA:
            at += 2 + length
            continue
        head_end = head_end or at
        end = at + 2 + length
        while not (jpeg[end] == 0xFF and jpeg[end + 1] not in (0, *range(0xD0, 0xD8))):
            end += 1
        scans.append(jpeg[at:end])
        at = end
    return jpeg[:head_end], scans

def with_sof(jpeg, width=None, height=None, marker=None, precision=None):
    out = bytearray(jpeg)
    at = 2
    while at < len(out) - 4:
        m = out[at + 1]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            if marker is not None: out[at + 1] = marker
            if precision is not None: out[at + 4] = precision
            if height is not None: out[at + 5:at + 7] = height.to_bytes(2, "big")
            if width is not None: out[at + 7:at + 9] = width.to_bytes(2, "big")
            return bytes(out)
        at += 2 + int.from_bytes(out[at + 2:at + 4], "big")
    return bytes(out)

def gif(width, height, frames=1, frame_side=1):
    out = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    for _ in range(frames):
        out += b"\x21\xf9\x04\x00\x01\x00\x00\x00"
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, frame_side, frame_side, 0) + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"

def bmp(width, height, bpp=24):
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bpp, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\0" * 64
    size = 14 + len(header) + len(pixels)
    return b"BM" + struct.pack("<IHHI", size, 0, 0, 54) + header + pixels

def tiff(width, height, loop=False, tiles=False, big=False):
    if big:
        return b"II\x2b\x00\x08\x00\x00\x00" + struct.pack("<Q", 16) + struct.pack("<Q", 1) + b"\0" * 40
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (277, 3, 1, 1)]
    entries += [(322, 4, 1, 16), (323, 4, 1, 16), (324, 4, 1, 200), (325, 4, 1, 1)] if tiles else \
               [(273, 4, 1, 200), (278, 4, 1, 1), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    ifd += struct.pack("<I", 8 if loop else 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 64

def webp_vp8x(width, height, frames=0, riff_length=None):
    flags = 0x02 if frames else 0
    vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + vp8x
    if frames:
        body += b"ANIM" + struct.pack("<I", 6) + b"\0" * 6
        frame = b"ANMF" + struct.pack("<I", 16) + b"\0" * 16
        body += frame * frames
    return b"RIFF" + struct.pack("<I", riff_length if riff_length is not None else len(body)) + body

def flip(data, rng, count):
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def build_cases(rng, count):
    jpegs = [(FIXTURES / n).read_bytes() for n in ("progressive.jpg", "exif-orientation-6.jpg")]
    progressive = jpegs[0]
    head, scans = jpeg_segments(progressive)
    others = [(FIXTURES / n).read_bytes() for n in
              ("quadrants.bmp", "quadrants.tiff", "quadrants.webp", "animated.gif", "transparent.png")]
    zero_bombs = {side: zero_png(side) for side in (4000, 7000)}
    kinds = [
        ("jpeg-repeated-scans", lambda: head + b"".join(scans) + scans[-1] * rng.randrange(5, 199) + b"\xff\xd9"),
        ("jpeg-huge-frame", lambda: with_sof(rng.choice(jpegs), rng.randrange(8000, 65535), rng.randrange(8000, 65535))),
        ("jpeg-flood-within-limit", lambda: with_sof(progressive, 7000, 7000)),
        ("jpeg-lossless", lambda: with_sof(rng.choice(jpegs), marker=0xC3)),
        ("jpeg-12-bit", lambda: with_sof(rng.choice(jpegs), marker=0xC1, precision=12)),
        ("jpeg-hierarchical", lambda: with_sof(rng.choice(jpegs), marker=0xC5)),
        ("jpeg-exif-bomb", lambda: jpegs[1][:2] + (b"\xff\xe1\xff\xff" + b"Exif\0\0" + b"\0" * 65527) * rng.randrange(1, 300) + jpegs[1][2:]),
        ("jpeg-icc-chunks", lambda: jpegs[1][:2] + (b"\xff\xe2\x01\x00ICC_PROFILE\0\x01\xff" + b"\0" * 240) * rng.randrange(100, 5000) + jpegs[1][2:]),
        ("jpeg-truncated", lambda: (lambda j: j[:rng.randrange(2, len(j))])(rng.choice(jpegs))),
        ("jpeg-mutant", lambda: flip(rng.choice(jpegs), rng, rng.randrange(1, 40))),
        ("jpeg-polyglot-zip", lambda: rng.choice(jpegs) + b"PK\x03\x04" + os.urandom(2000)),
        ("png-huge-header", lambda: png(rng.randrange(20000, 1 << 31), rng.randrange(20000, 1 << 31))),
        ("png-zero-bomb", lambda: zero_bombs[rng.choice((4000, 7000))]),
        ("png-bogus-chunk-length", lambda: b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 0xFFFFFFF0) + b"IHDR" + b"\0" * 64),
        ("png-ztxt-bomb", lambda: png(64, 64, extra=png_chunk(b"zTXt", b"k\0\0" + zlib.compress(b"\0" * (20 << 20))))),
        ("png-apng-frames", lambda: png(64, 64, extra=png_chunk(b"acTL", struct.pack(">II", 0x7FFFFFFF, 0)))),
        ("png-16-bit-rgba", lambda: png(3000, 3000, colour=6, depth=16)),
        ("gif-huge-screen", lambda: gif(65535, 65535)),
        ("gif-many-frames", lambda: gif(64, 64, frames=rng.randrange(1001, 5000))),
        ("gif-truncated", lambda: gif(64, 64, frames=3)[:rng.randrange(10, 60)]),
        ("bmp-huge", lambda: bmp(rng.randrange(20000, 1 << 30), rng.choice((1, -1)) * rng.randrange(20000, 1 << 30))),
        ("bmp-odd-depth", lambda: bmp(64, 64, bpp=rng.choice((0, 3, 7, 64)))),
        ("tiff-huge", lambda: tiff(rng.randrange(20000, 1 << 31), rng.randrange(20000, 1 << 31))),
        ("tiff-ifd-loop", lambda: tiff(64, 64, loop=True)),
        ("tiff-tiny-tiles", lambda: tiff(7000, 7000, tiles=True)),
        ("tiff-bigtiff", lambda: tiff(0, 0, big=True)),
        ("webp-huge-canvas", lambda: webp_vp8x(16383, 16383)),
        ("webp-animated-frames", lambda: webp_vp8x(64, 64, frames=rng.randrange(1001, 3000))),
        ("webp-bogus-riff-length", lambda: webp_vp8x(64, 64, riff_length=0xFFFFFFF0)),
        ("mutant-other-format", lambda: flip(rng.choice(others), rng, rng.randrange(1, 30))),
        ("truncated-other-format", lambda: (lambda b: b[:rng.randrange(1, len(b))])(rng.choice(others))),
        ("text-named-jpg", lambda: b"hello, this is not an image\n" * rng.randrange(1, 100)),
        ("svg", lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("empty", lambda: b""),
    ]
    names = ["photo.jpg", "../../etc/passwd", "a\x00b.jpg", "evil\u202egpj.exe", "x" * 10_000,
             "ünïcødé 写真.png", "CON", "..", "a/b\\c.gif", "\r\nX-Injected: 1.jpg"]
    cases = []
    for index in range(count):
        name, make = kinds[index % len(kinds)]
        shape = rng.choice(("raw", "raw", "raw-wrong-type", "multipart", "multipart-odd", "query-odd"))
        cases.append((name, shape, make(), rng.choice(names), rng.random()))
    return cases


# ---------- requests ----------

def request(port, token, body, shape, filename, pick):
    headers = {"Authorization": f"Bearer {token}"}
    path = "/v1/images"
    if shape.startswith("multipart"):
        boundary = "hostile" + str(int(pick * 1e9))
        disposition = 'form-data; name="file"; filename="%s"' % filename.replace('"', "")
        parts = [(disposition, body)]
        if shape == "multipart-odd":
            odd = int(pick * 4)
            if odd == 0: parts.append((disposition, body))          # two file fields
            elif odd == 1: parts = [('form-data; name="other"', body)]  # no file field
            elif odd == 2: boundary = "x" * 200                      # over-long boundary
        payload = b"".join(b"--" + boundary.encode() + b"\r\nContent-Disposition: " +
                           d.encode("utf-8", "surrogateescape") + b"\r\nContent-Type: image/jpeg\r\n\r\n" + p + b"\r\n"
                           for d, p in parts) + b"--" + boundary.encode() + b"--\r\n"
        if shape == "multipart-odd" and int(pick * 4) == 3:
            payload = payload[: len(payload) // 2]                   # cut short
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        body = payload
    else:
        headers["Content-Type"] = "text/plain" if shape == "raw-wrong-type" else "application/octet-stream"
        if shape == "query-odd":
            path += "?filename=" + "".join("%%%02X" % b for b in filename.encode()[:3000]) + "&filename=&x=%ZZ"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        try:
            connection.request("POST", path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered before the whole body was read: read that answer
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("server-timing") or "", response.getheader("retry-after")
    finally:
        connection.close()

def cpu_seconds(timing):
    for part in timing.split(","):
        for field in part.split(";"):
            if field.strip().startswith("dur="):
                return float(field.strip()[4:]) / 1000
    return 0.0

def tree_rss_mib(pid):
    """RSS of the server and its direct children (the decoder workers)."""
    pids, total = {str(pid)}, 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                if stat.rsplit(")", 1)[1].split()[1] == str(pid):
                    pids.add(entry)
            except OSError:
                pass
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--photo", default=str(FIXTURES / "exif-orientation-6.jpg"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = build_cases(rng, args.cases)
    photo = Path(args.photo).read_bytes()

    data = tempfile.mkdtemp(prefix="flipframe-hostile-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]
    server = subprocess.Popen([args.binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "server.log"), "w"))
    token = lambda user: subprocess.run([args.binary, "token", "dev", "--user", user, "--data-dir", data],
                                        capture_output=True, text=True, check=True).stdout.strip()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close(); break
        except OSError:
            time.sleep(0.1)
    mallory, alice = token("mallory"), token("alice")
    stop = threading.Event()
    peak = [0.0]
    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mib(server.pid)); time.sleep(0.1)
    threading.Thread(target=sample, daemon=True).start()

    # Slow and stalled clients, open for the whole run.
    stalled = []
    for _ in range(400):
        s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"POST /v1/ima"); stalled.append(s)
    stalled_at = time.monotonic()
    last_closed = [None]
    def watch_stalled():
        # Records when the server closed the last of them (EOF or reset).
        waiting = list(stalled)
        while waiting and time.monotonic() - stalled_at < 35:
            readable, _, _ = select.select(waiting, [], [], 0.5)
            for s in readable:
                try:
                    data = s.recv(1)
                except OSError:
                    data = b""
                if data == b"":
                    waiting.remove(s)
        if not waiting:
            last_closed[0] = time.monotonic() - stalled_at
    watcher = threading.Thread(target=watch_stalled); watcher.start()
    trickling = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {mallory}\r\n"
                  f"Content-Type: image/jpeg\r\nContent-Length: 25000000\r\n\r\n".encode())
        trickling.append(s)
    def trickle():
        while not stop.is_set():
            for s in trickling:
                try: s.send(b"\xff")
                except OSError: pass
            time.sleep(1)
    threading.Thread(target=trickle, daemon=True).start()

    normal = []
    def normal_user():
        while not stop.is_set():
            started = time.monotonic()
            status, _, _ = request(port, alice, photo, "raw", "photo.jpg", 0.5)
            normal.append((time.monotonic() - started, status))
            time.sleep(0.3)
    normal_thread = threading.Thread(target=normal_user); normal_thread.start()

    results, lock, queue = [], threading.Lock(), list(enumerate(cases))
    def attacker():
        while True:
            with lock:
                if not queue: return
                _, (name, shape, body, filename, pick) = queue.pop()
            for attempt in range(200):
                try:
                    status, timing, retry = request(port, mallory, body, shape, filename, pick)
                except OSError as error:
                    status, timing, retry = -1, "", None
                    if server.poll() is not None: break
                if status != 429: break
                time.sleep(float(retry or 1) / 4)
            with lock:
                results.append((name, shape, status, cpu_seconds(timing)))
    attackers = [threading.Thread(target=attacker) for _ in range(8)]
    for t in attackers: t.start()
    for t in attackers: t.join()

    watcher.join()
    closed_after = last_closed[0]
    stop.set(); normal_thread.join()
    crashed = server.poll() is not None
    server.terminate(); server.wait(timeout=30)

    count = lambda low, high: sum(1 for r in results if low <= r[2] < high)
    errors = [r for r in results if r[2] >= 500 or r[2] < 0]
    worst = max(results, key=lambda r: r[3])
    latencies = sorted(l for l, _ in normal)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("inf")
    normal_failed = sum(1 for _, s in normal if s != 202)
    print(f"hostile: cases={len(results)} 2xx={count(200, 300)} 4xx={count(400, 500)} 5xx={count(500, 600)} "
          f"crashes={int(crashed) + sum(1 for r in results if r[2] < 0)} worst_cpu_s={worst[3]:.2f} ({worst[0]}) "
          f"peak_rss_mib={peak[0]:.0f} normal_uploads={len(normal)} normal_failed={normal_failed} "
          f"normal_p99_s={p99:.2f} stalled_closed_s={closed_after if closed_after is None else round(closed_after, 1)}")
    for name, shape, status, _ in errors[:10]:
        print(f"  error: {name} ({shape}) -> {status}")
    ok = (not errors and not crashed and worst[3] <= 2.0 and peak[0] < 512 and p99 < 2.0
          and normal_failed == 0 and closed_after is not None and closed_after < 30)
    if not ok:
        print("hostile: a goal was missed (server log: %s/server.log)" % data)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
