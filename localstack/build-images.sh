#!/usr/bin/env bash
# Builds, without any registry, the two images the BDD container path runs:
#   flipframe/mock-cognito:dev     the mock Cognito example binary and the
#                                  shared libraries it links, imported as a root
#   flipframe/localstack:2026.3.0  a debootstrapped Debian root with the pinned
#                                  localstack-core venv; the root is cached as
#                                  $FLIPFRAME_CACHE/localstack-root-2026.3.0.tar.zst
#                                  (~3.5 min to make, ~30 s to re-import)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FLIPFRAME_CACHE:-$HOME/.cache/flipframe}
mkdir -p "$cache"

# --- the mock Cognito: a dynamically linked binary plus its libraries -------
cargo build --quiet --example mock_cognito
binary=$(cargo build --quiet --example mock_cognito --message-format=json \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "mock_cognito" and m.get("executable"):
        print(m["executable"])')
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp "$binary" "$root/mock_cognito"
for library in $(ldd "$binary" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
tar -C "$root" -c . | docker import -c 'ENTRYPOINT ["/mock_cognito"]' - flipframe/mock-cognito:dev >/dev/null
echo "image flipframe/mock-cognito:dev built"

# --- LocalStack: a Debian root with the pinned venv --------------------------
tag=flipframe/localstack:2026.3.0
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "image $tag present"
    exit 0
fi
tarball=$cache/localstack-root-2026.3.0.tar.zst
if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
    # The mirror apt already uses here.
    mirror=$( (grep -rhoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) | head -n 1)
    mirror=${mirror:-http://deb.debian.org/debian}
    debroot=$(mktemp -d)
    trap 'rm -rf "$root" "$debroot"' EXIT
    echo "debootstrapping Debian trixie from $mirror (about 95 s, once)"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        trixie "$debroot" "$mirror" >/dev/null
    # pip inside verifies TLS with the root's system bundle (truststore) or
    # PIP_CERT: give it the host's, which knows this network's CAs.
    cp /etc/ssl/certs/ca-certificates.crt "$debroot/etc/ssl/certs/host-ca.crt"
    cp /etc/ssl/certs/ca-certificates.crt "$debroot/etc/ssl/certs/ca-certificates.crt"
    cp /etc/resolv.conf "$debroot/etc/resolv.conf"
    export PIP_CERT=/etc/ssl/certs/host-ca.crt SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt \
        PIP_FIND_LINKS= PIP_DISABLE_PIP_VERSION_CHECK=1
    chroot "$debroot" python3 -m venv /opt/localstack
    chroot "$debroot" /opt/localstack/bin/python -m pip install --quiet --upgrade 'pip>=26'
    # A failed pip upgrade exits 0: check the version before relying on its flags.
    chroot "$debroot" /opt/localstack/bin/python -c 'import pip,sys; sys.exit(int(pip.__version__.split(".")[0]) < 26)'
    chroot "$debroot" /opt/localstack/bin/python -m pip install --quiet \
        --uploaded-prior-to 2026-03-24T00:00:00Z 'localstack-core[runtime]==2026.3.0'
    mkdir -p "$debroot/var/lib/localstack"
    tar -C "$debroot" -c . | zstd -q -T0 -o "$tarball.partial"
    mv "$tarball.partial" "$tarball"
    rm -rf "$debroot"
fi
zstd -q -dc "$tarball" | docker import \
    -c 'ENTRYPOINT ["/opt/localstack/bin/python", "-m", "localstack.runtime.main"]' - "$tag" >/dev/null
echo "image $tag built"
