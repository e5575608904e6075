//! Each pipeline stage timed on its own, per image (`decode` is the generic
//! full-size decoder, `shrink` the shrink-on-load one the transform uses, and
//! `resize` starts from the latter; `theirs` is `shrink` with the C
//! library's own entropy decoder in place of ours: libjpeg-turbo's Huffman
//! decoder instead of `jpeg_entropy`, libwebp's VP8 token and mode parsing
//! instead of `vp8_tokens`; `floor` decodes at the smallest scale the
//! decoder has, the least reading this file can cost; `1-pass` is `shrink`
//! and `resize` in one, the rows resized as they are decoded, where the
//! transform does that: upright RGB JPEGs): `cargo bench --bench
//! stages` over the set `scripts/bench-images.sh` fetches (or
//! FLIPFRAME_BENCH_IMAGES). Under `cargo test` it runs once on a generated
//! image, so the bench cannot rot. Prints medians of RUNS (default 9) runs.

#[path = "support/image_set.rs"]
mod image_set;

use flipframe::pipeline::{self, Limits, TransformSpec};
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> (f64, T) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = std::hint::black_box(work());
        samples.push(started.elapsed());
        last = Some(value);
    }
    (median(samples), last.expect("at least one run"))
}

fn bench(name: &str, bytes: &[u8], runs: usize) {
    let (limits, spec) = (Limits::default(), TransformSpec::default());
    let (sniff, format) = time(runs, || pipeline::sniff(bytes).unwrap());
    let (inspect, inspection) = time(runs, || pipeline::inspect(bytes, format, &limits).unwrap());
    let (decode, _) = time(runs, || {
        pipeline::decode(bytes, &inspection, &limits).unwrap()
    });
    let (shrink, decoded) = time(runs, || {
        pipeline::decode_for_frame(bytes, &inspection, &limits, &spec).unwrap()
    });
    // The same shrink with the C library's own entropy decoding in place
    // of ours (`pipeline/decode/jpeg_entropy`, `pipeline/decode/vp8_tokens`).
    let theirs = match format {
        #[cfg(feature = "native-codecs")]
        pipeline::Format::Jpeg => {
            let (theirs, _) = time(runs, || {
                pipeline::decode_jpeg_for_frame(
                    bytes,
                    &inspection,
                    &spec,
                    pipeline::JpegEntropy::Libjpeg,
                )
            });
            format!("{theirs:.1}")
        }
        #[cfg(feature = "native-codecs")]
        pipeline::Format::Webp => {
            let (theirs, _) = time(runs, || {
                pipeline::decode_webp_for_frame(
                    bytes,
                    &inspection,
                    &spec,
                    pipeline::WebpTokens::Libwebp,
                )
            });
            format!("{theirs:.1}")
        }
        _ => "-".to_owned(),
    };
    // The least any decode of this file costs: the smallest scale each decoder
    // offers (JPEG 1/8, where only the entropy decoding remains).
    let thumbnail = TransformSpec {
        width: 8,
        height: 8,
        ..spec
    };
    let (floor, _) = time(runs, || {
        pipeline::decode_for_frame(bytes, &inspection, &limits, &thumbnail).unwrap()
    });
    let (resize, framed) = time(runs, || pipeline::resize(decoded.clone(), &spec).unwrap());
    let one_pass = match pipeline::decode_to_frame(bytes, &inspection, &spec) {
        Some(_) => {
            let (one_pass, _) = time(runs, || {
                pipeline::decode_to_frame(bytes, &inspection, &spec).map(Result::unwrap)
            });
            format!("{one_pass:.1}")
        }
        None => "-".to_owned(),
    };
    let (rotate, rotated) = time(runs, || {
        let mut image = framed.clone();
        pipeline::rotate_half_turn(&mut image);
        image
    });
    let (encode, _) = time(runs, || pipeline::encode(rotated.clone(), &spec).unwrap());
    let (total, _) = time(runs, || pipeline::transform(bytes, &spec, &limits).unwrap());
    println!(
        "{name:<32} {sniff:>7.2} {inspect:>8.2} {decode:>8.1} {shrink:>9.1} {theirs:>9} {floor:>7.1} {resize:>7.1} {one_pass:>7} {rotate:>7.1} {encode:>7.1} {total:>8.1}"
    );
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    println!(
        "{:<32} {:>7} {:>8} {:>8} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}   (median ms)",
        "image",
        "sniff",
        "inspect",
        "decode",
        "shrink",
        "theirs",
        "floor",
        "resize",
        "1-pass",
        "rotate",
        "encode",
        "total"
    );
    if !benchmarking {
        bench(
            "generated 1600x900 (smoke run)",
            &image_set::generated_jpeg(128),
            1,
        );
        return;
    }
    let runs = image_set::env_number("RUNS", 9);
    for (name, bytes) in image_set::images("FLIPFRAME_BENCH_IMAGES", "bench-images") {
        bench(&name, &bytes, runs);
    }
}
