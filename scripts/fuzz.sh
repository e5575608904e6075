#!/usr/bin/env bash
# `just fuzz [SECONDS]`: every cargo-fuzz target in service/fuzz for SECONDS
# in all (split evenly), AddressSanitizer on (the C decoders included), seeded
# from the repo's fixtures and generated images, with a dictionary per format.
# Prints `target, execs, corpus, crashes`; exits 1 when anything crashed.
# libFuzzer's own output stays in service/fuzz/logs/TARGET.log.
# Crash inputs land in service/fuzz/artifacts/TARGET/: copy them into
# service/tests/fuzz-regressions/TARGET/ and `cargo test --test fuzz_regressions`
# keeps them fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
fuzz=$PWD/service/fuzz
# cargo-fuzz needs nightly flags (-Zsanitizer); the machine's stable
# toolchain accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
# The C libraries are built by cmake under the same sanitizer.
export CFLAGS="${CFLAGS:-} -fsanitize=address -fno-omit-frame-pointer"
export CXXFLAGS="${CXXFLAGS:-} -fsanitize=address -fno-omit-frame-pointer"
(cd "$fuzz" && cargo fuzz build -O --debug-assertions >/dev/null)

mapfile -t targets < <(cd "$fuzz" && cargo fuzz list)
per_target=$(( seconds / ${#targets[@]} ))
[ "$per_target" -ge 5 ] || per_target=5

seed() {
    local target=$1 corpus=$fuzz/corpus/$1
    mkdir -p "$corpus"
    local fixtures=service/tests/fixtures
    case $target in
        upload_pipeline) cp "$fixtures"/* "$corpus"/ ;;
        decode_jpeg) cp "$fixtures"/*.jpg "$corpus"/ ;;
        decode_png) cp "$fixtures"/*.png "$corpus"/ ;;
        decode_gif) cp "$fixtures"/*.gif "$corpus"/ ;;
        decode_webp) cp "$fixtures"/*.webp "$corpus"/ ;;
        decode_tiff_bmp)
            { printf '\0'; cat "$fixtures/quadrants.tiff"; } > "$corpus/tiff"
            { printf '\1'; cat "$fixtures/quadrants.bmp"; } > "$corpus/bmp" ;;
        credentials)
            printf 'authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImRldiJ9.eyJzdWIiOiJ4In0.c2ln\n' > "$corpus/jwt"
            printf 'x-api-key: fuzzing-partner-token-0123456789abcdef\n' > "$corpus/partner"
            printf 'authorization: Bearer a.b.c\nx-api-key: k\n' > "$corpus/two" ;;
        upload_body)
            { printf 'image/png\n'; cat "$fixtures/transparent.png"; } > "$corpus/raw"
            { printf 'multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="../a.gif"\r\nContent-Type: image/gif\r\n\r\n'
              cat "$fixtures/animated.gif"; printf '\r\n--XyZ--\r\n'; } > "$corpus/multipart" ;;
    esac
}

dictionary() {
    case $1 in
        upload_pipeline|decode_jpeg) echo jpeg ;;
        decode_png) echo png ;;
        decode_gif) echo gif ;;
        decode_webp) echo webp ;;
        decode_tiff_bmp) echo tiff_bmp ;;
        *) echo http ;;
    esac
}

status=0
printf '%-16s %10s %7s %8s\n' target execs corpus crashes
for target in "${targets[@]}"; do
    [ -d "$fuzz/corpus/$target" ] || seed "$target"
    mkdir -p "$fuzz/logs"
    log=$fuzz/logs/$target.log
    (cd "$fuzz" && cargo fuzz run -O --debug-assertions "$target" -- \
        -max_total_time="$per_target" -print_final_stats=1 -rss_limit_mb=4096 -timeout=10 \
        -max_len=1048576 -dict="dictionaries/$(dictionary "$target").dict" >"$log" 2>&1) || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(find "$fuzz/corpus/$target" -type f | wc -l)
    crashes=$(find "$fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
    printf '%-16s %10s %7s %8s\n' "$target" "${execs:-0}" "$corpus" "$crashes"
    if [ "$crashes" -gt 0 ] || [ -z "$execs" ]; then
        status=1
        grep -E 'ERROR|panicked|SUMMARY' "$log" | head -5 || tail -20 "$log"
    fi
done
exit "$status"
