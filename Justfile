# flipframe: every day-to-day command. `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run the service with embedded defaults (files + SQLite + dev auth) on 127.0.0.1:8080.
run *ARGS:
    cargo run --release -- {{ARGS}}

# Print a dev sign-in token for USER (for the dev issuer of `just run`).
dev-token USER="alice":
    cargo run --release --quiet -- token dev --user {{USER}}

# Everything CI checks: lint, every test suite (unit, integration, all BDD
# targets on host emulators), then the BDD smoke subset on containers.
test: lint localstack-venv browser-tools
    #!/usr/bin/env bash
    set -euo pipefail
    started=$(date +%s)
    cargo test --workspace --all-targets
    # The pure-Rust build (no libjpeg-turbo, no libwebp) still transforms every format.
    cargo test -p flipframe --no-default-features --lib --test pipeline
    # Hostile uploads, slow and stalled clients against the binary the tests built.
    python3 scripts/hostile.py "${CARGO_TARGET_DIR:-target}/debug/flipframe" --cases 250
    # The API against its own OpenAPI document (schemathesis), quick form.
    just api-contract 10
    # Crashes, graceful stops and rolling restarts, quick form (`just reliability`: the long one).
    just reliability-quick "${CARGO_TARGET_DIR:-target}/debug/flipframe"
    just bdd-containers
    just infra-lint
    just infra-test
    # A fresh machine's tools fetched with this one's hidden, quick form (`just fresh-machine`: the long one).
    scripts/fresh-machine.sh tools
    echo "just test: $(( $(date +%s) - started )) s"

# The README's first command from a fresh clone with an empty target dir, with
# cmake, nasm and just hidden (root): the time until /healthz answers.
fresh-machine MODE="full":
    scripts/fresh-machine.sh {{MODE}}

# The README's before/after picture: a real photo (Debian's wallpapers: "Dragonfly"
# by Bolly, CC BY-SA 4.0) and what the release build's pipeline makes of it.
docs-pictures:
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    cargo build --release --quiet --bin flipframe
    photo="$images/jpeg-13mp-4x3-baseline-420.jpg"
    "${CARGO_TARGET_DIR:-target}/release/flipframe" transform "$photo" docs/after.jpg
    convert=$(command -v magick || command -v convert-im6.q16 || command -v convert)
    "$convert" "$photo" -resize 960x -strip -quality 82 docs/before.jpg
    ls -l docs/before.jpg docs/after.jpg

# Unit and integration tests only (pipeline, HTTP API, backends on moto, Lambda handlers, CLI).
unit:
    cargo test --workspace --lib --bins --examples --test pipeline --test api --test backends --test lambda --test cli --test infra_routes

# The Gherkin features on every target (args pass through: --tags EXPR, --target NAME, --containers).
bdd *ARGS: localstack-venv
    cargo test --test bdd -- {{ARGS}}

# The @smoke features on LocalStack and the mock Cognito in containers, when a Docker engine answers.
bdd-containers:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! localstack/docker-ready.sh; then
        echo "bdd-containers: no Docker engine answers; the container path is skipped here"
        exit 0
    fi
    localstack/build-images.sh
    cargo test --test bdd -- --containers --tags @smoke --target aws-emulated-localstack

# N photos (default 200) through `flipframe upload --wait` against a standalone
# release server: wall time against the transforms' sum ÷ cores (goal ≤ 1.2×),
# and against the same uploads by curl in parallel (xargs -P 4).
bench-cli N="200":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    cargo build --release --quiet --bin flipframe
    scripts/bench-cli.sh "${CARGO_TARGET_DIR:-target}/release/flipframe" "$images/../bench-photos" {{N}}

# Headless Chromium and chromedriver (Debian's packages) and axe-core (npm)
# for the console's browser tests, when missing.
browser-tools:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        sudo=$([ "$(id -u)" = 0 ] || echo sudo)
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    tools="${CARGO_TARGET_DIR:-target}/browser-tools"
    if [ ! -f "$tools/node_modules/axe-core/axe.min.js" ]; then
        npm install --silent --no-audit --no-fund --prefix "$tools" axe-core@4.14.1
    fi

# Create the LocalStack venv (Python >= 3.12, pinned set) if missing.
localstack-venv:
    @localstack/install-host.sh >/dev/null

# Start moto, LocalStack and the mock Cognito for offline development (ports 5000, 4566, 9229).
emulators-up: localstack-venv
    localstack/emulators.sh up

# Stop what emulators-up started.
emulators-down:
    localstack/emulators.sh down

# Terraform: fmt, validate (offline through the local provider mirror), checkov.
infra-lint:
    infra/scripts/lint.sh

# Apply infra/ to moto, check a second plan is empty, smoke-test through the service, destroy.
infra-test:
    infra/scripts/test-on-moto.sh

# Deploy to a real AWS account (credentials from the usual chain): build the zip,
# smoke-test it, apply.
deploy *ARGS: lambda-smoke
    cd infra && terraform init -input=false && terraform apply {{ARGS}}

# 2,000 seeded hostile uploads (bombs, floods, mutants, odd requests) from 8
# clients, with 400 stalled connections and 12 trickling uploads open, while a
# normal user uploads a real photo; prints one line and fails on a missed goal.
hostile CASES="2000" SEED="12":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    cargo build --release --quiet --bin flipframe
    python3 scripts/hostile.py "${CARGO_TARGET_DIR:-target}/release/flipframe" --cases {{CASES}} --seed {{SEED}} \
        --photo "$images/jpeg-13mp-4x3-baseline-420.jpg"

# Faults and load, long form: SIGKILL storms (300 uploads, 20 kills) on files +
# SQLite and on S3 + DynamoDB in moto, graceful stop and rolling restarts, backend
# outages, Lambda's at-least-once delivery, and the crowd on loopback.
reliability:
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    cargo build --release --quiet --bin flipframe
    binary="${CARGO_TARGET_DIR:-target}/release/flipframe"
    python3 scripts/reliability/crash.py "$binary" --uploads 300 --kills 20
    python3 scripts/reliability/crash.py "$binary" --uploads 300 --kills 20 --moto
    python3 scripts/reliability/drain.py "$binary" --uploads 120 --rolls 5
    cargo test --quiet --test api -- outages recovery
    cargo test --quiet --test lambda -- delivery
    just load

# The same suites on fewer uploads and kills, against BINARY (a minute or two).
reliability-quick BINARY:
    python3 scripts/reliability/crash.py {{BINARY}} --uploads 60 --kills 5
    python3 scripts/reliability/crash.py {{BINARY}} --uploads 40 --kills 4 --moto
    python3 scripts/reliability/drain.py {{BINARY}} --uploads 30 --rolls 2

# 200 uploads of real photos from 25 users at once, 20,000 GETs (user JWTs and an
# external token), then both together: throughput, p50/p99/max, errors, lost, peak RSS.
load UPLOADS="200" GETS="20000":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    FLIPFRAME_BENCH_PHOTOS="$images/../bench-photos" UPLOADS={{UPLOADS}} GETS={{GETS}} \
        cargo bench --quiet --bench service -- crowd

# Formatting, clippy with warnings as errors, and the supply chain (licences,
# bans, sources: no advisory database needed; advisories: `just advisories`).
lint: deny-tool
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p flipframe --no-default-features --all-targets -- -D warnings
    cargo deny check licenses bans sources

# Known vulnerabilities in the dependency tree (fetches the RustSec advisory
# database: needs internet access).
advisories: deny-tool
    cargo deny check advisories

deny-tool:
    @command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny

# schemathesis (--checks all, stateful phase included) against the running
# standalone server's own /openapi.json, as a signed-in user and as an external
# system: embedded defaults, then S3 + DynamoDB in moto. EXAMPLES per operation.
api-contract EXAMPLES="50":
    #!/usr/bin/env bash
    set -euo pipefail
    command -v schemathesis >/dev/null 2>&1 || python3 -m pip install --quiet 'schemathesis>=4,<5'
    # The same feature set as the tests' build: no rebuild after `cargo test`.
    cargo build --quiet --workspace --all-targets
    MOTO=1 scripts/schemathesis.sh "${CARGO_TARGET_DIR:-target}/debug/flipframe" {{EXAMPLES}}

# Every fuzz target for SECONDS in all (AddressSanitizer; a cold build
# rebuilds every dependency, so CI does not run it): target, execs, corpus, crashes.
fuzz SECONDS="600":
    scripts/fuzz.sh {{SECONDS}}

# Format the code.
fmt:
    cargo fmt --all

# The transform side by side with sharp on real photos, fresh process and warm
# (median ms, peak RSS, ratios, PSNR), then each pipeline stage alone. RUNS sets the
# rounds, WARM the transforms per warm process.
bench RUNS="7" WARM="5":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    node_dir=${CARGO_TARGET_DIR:-target}/bench-node
    [ -d "$node_dir/node_modules/sharp" ] || npm install --silent --prefix "$node_dir" sharp@0.35
    cargo build --release --quiet --bin flipframe
    python3 scripts/bench.py "$images" "${CARGO_TARGET_DIR:-target}/release/flipframe" "$node_dir" {{RUNS}} {{WARM}}
    echo
    FLIPFRAME_BENCH_IMAGES="$images" RUNS={{RUNS}} cargo bench --quiet --bench stages

# 50 photos of 12–20 MP uploaded at once by 10 callers to `flipframe serve`: time until all are
# processed against the pure transform times ÷ cores, and the server's peak RSS.
bench-service UPLOADS="50":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    FLIPFRAME_BENCH_PHOTOS="$images/../bench-photos" UPLOADS={{UPLOADS}} cargo bench --quiet --bench service -- load

# GET of the transformed version with a JWT under wrk, against nginx serving the same file.
bench-http SECONDS="10":
    #!/usr/bin/env bash
    set -euo pipefail
    images=$(scripts/bench-images.sh "${CARGO_TARGET_DIR:-target}/bench-images")
    command -v wrk >/dev/null && command -v nginx >/dev/null || apt-get install -y -qq wrk nginx-light >/dev/null
    FLIPFRAME_BENCH_PHOTO="$images/jpeg-20mp-baseline-422.jpg" SECONDS={{SECONDS}} \
        cargo bench --quiet --bench service -- http

# Build the Lambda zip for provided.al2023: ARCH is x86_64 (default) or arm64.
# Fails when the binary needs a glibc newer than Amazon Linux 2023's 2.34.
lambda-zip ARCH="x86_64":
    command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda
    cargo lambda build --release --bin flipframe --output-format zip --lambda-dir target/lambda \
        --target {{ if ARCH == "arm64" { "aarch64-unknown-linux-gnu.2.34" } else { "x86_64-unknown-linux-gnu.2.34" } }}
    scripts/check-glibc target/lambda/flipframe/bootstrap.zip 2.34
    @ls -l target/lambda/flipframe/bootstrap.zip

# Both functions run from the x86_64 zip's bootstrap against a mock Runtime API, a JWKS
# with a real key and moto (S3, DynamoDB): one photo uploaded through an API Gateway event,
# processed from its S3 event, downloaded. The zip's bootstrap, run as Lambda runs it.
lambda-smoke: lambda-zip
    command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
    python3 scripts/lambda-smoke.py target/lambda/flipframe/bootstrap.zip service/tests/fixtures/exif-orientation-6.jpg
