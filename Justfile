# flipframe: every day-to-day command. `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run the service with embedded defaults (files + SQLite + dev auth) on 127.0.0.1:8080.
run *ARGS:
    cargo run --release -- {{ARGS}}

# Print a dev sign-in token for USER (for the dev issuer of `just run`).
dev-token USER="alice":
    cargo run --release --quiet -- token dev --user {{USER}}

# Everything CI checks: lint, then every test suite.
test: lint unit

# Unit and integration tests (pipeline, HTTP API on a real listener, CLI).
unit:
    cargo test --workspace --all-targets

# Formatting and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Benchmarks against sharp/libvips arrive with the performance issue.
bench:
    @echo "not yet: the benchmark suite lands with the performance issue" >&2
    @exit 1

# Build the Lambda zip for provided.al2023: ARCH is x86_64 (default) or arm64.
# Fails when the binary needs a glibc newer than Amazon Linux 2023's 2.34.
lambda-zip ARCH="x86_64":
    command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda
    cargo lambda build --release --bin flipframe --output-format zip --lambda-dir target/lambda \
        --target {{ if ARCH == "arm64" { "aarch64-unknown-linux-gnu.2.34" } else { "x86_64-unknown-linux-gnu.2.34" } }}
    scripts/check-glibc target/lambda/flipframe/bootstrap 2.34
    @ls -l target/lambda/flipframe/bootstrap.zip
