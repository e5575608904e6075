"""What the reliability suites share: distinct valid images, a flipframe
server they start, kill and stop, and plain HTTP calls to it."""
import http.client, os, signal, socket, struct, subprocess, sys, time, zlib
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "service/tests/fixtures"
RETRYABLE = {409, 429, 503}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------- distinct, valid images: a fixture with a unique comment ----------

def jpeg_with_comment(jpeg, text):
    body = text.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def png_with_text(png, text):
    data = b"Comment\0" + text.encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:-12] + chunk + png[-12:]


def gradient_png(width, height, seed):
    rows = b"".join(b"\0" + bytes((x * 7 + y * 3 + seed) & 0xFF for x in range(width * 3)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def make_images(count, rng):
    jpegs = [(FIXTURES / name).read_bytes() for name in ("progressive.jpg", "exif-orientation-6.jpg")]
    pngs = [(FIXTURES / "transparent.png").read_bytes(), gradient_png(1024, 768, 1), gradient_png(1600, 900, 2)]
    images = []
    for i in range(count):
        tag = f"crash-storm upload {i} {rng.random()}"
        if i % 2:
            images.append(("image/jpeg", jpeg_with_comment(rng.choice(jpegs), tag)))
        else:
            images.append(("image/png", png_with_text(rng.choice(pngs), tag)))
    return images


def dimensions(data):
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return struct.unpack(">II", data[16:24])
    at = 2
    while at + 9 < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


# ---------- the server under test ----------

class Server:
    def __init__(self, binary, data, env, port=None, extra=("--processing-lease", "3s", "--workers", "2"),
                 log_name="server.log"):
        self.binary, self.data, self.env, self.extra = binary, data, env, list(extra)
        self.port = port or free_port()
        self.process = None
        self.log_path = os.path.join(data, log_name)
        self.log = open(self.log_path, "ab")
        self.starts = 0

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}", *self.extra],
            stdout=subprocess.DEVNULL, stderr=self.log, env=self.env)
        self.starts += 1
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the server exited with {self.process.returncode}; see {self.log_path}")
            if self.listening():
                return
            time.sleep(0.05)
        sys.exit("the server did not listen within 60 s")

    def listening(self):
        """With --reuse-port another instance may hold the port: this one
        is up once its own log says so (RUST_LOG=info)."""
        if "--reuse-port" in self.extra:
            return b"flipframe listening" in open(self.log_path, "rb").read()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "timeout"

    def request(self, method, path, token, body=None, headers=None, timeout=30):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()
