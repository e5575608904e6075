#!/usr/bin/env bash
# Creates (once) a venv with the LocalStack set that works offline on the host:
# localstack-core 2026.3.0 on Python >= 3.12, dependencies as of 2026-03-23
# (newer ones break it). Location: $FLIPFRAME_CACHE/localstack-venv
# (default ~/.cache/flipframe). Prints the venv's python.
set -euo pipefail
cache=${FLIPFRAME_CACHE:-$HOME/.cache/flipframe}
venv=$cache/localstack-venv
stamp=$venv/.flipframe-localstack-2026.3.0
if [ -f "$stamp" ]; then
    echo "$venv/bin/python"
    exit 0
fi

find_python() {
    if command -v pyenv >/dev/null 2>&1; then
        for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -rV); do
            candidate="$(pyenv root)/versions/$version/bin/python3"
            "$candidate" --version >/dev/null 2>&1 && { echo "$candidate"; return; }
        done
    fi
    # A shim that exists but is not active fails here, so try each for real.
    for candidate in python3.13 python3.12; do
        "$candidate" --version >/dev/null 2>&1 && { command -v "$candidate"; return; }
    done
    if command -v apt-get >/dev/null 2>&1 && apt-cache policy python3.13 2>/dev/null | grep -q Candidate; then
        apt-get install -y -qq python3.13 python3.13-venv >/dev/null && command -v python3.13 && return
    fi
    return 1
}

python=$(find_python) || { echo "LocalStack needs Python >= 3.12; none found" >&2; exit 1; }
echo "creating the LocalStack venv with $python (about 2 minutes, once)" >&2
rm -rf "$venv"
mkdir -p "$cache"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade 'pip>=26'
"$venv/bin/python" -m pip install --quiet --uploaded-prior-to 2026-03-24T00:00:00Z 'localstack-core[runtime]==2026.3.0'
touch "$stamp"
echo "$venv/bin/python"
