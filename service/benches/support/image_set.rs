//! What the benchmarks read from disk and the environment: the image sets
//! `scripts/bench-images.sh` fetches, and counts like RUNS; and the
//! generated photo their smoke runs under `cargo test` use instead.

use std::path::PathBuf;

/// Every file with an extension in the folder `variable` names (or
/// `target/DEFAULT`), by name, with its bytes.
pub fn images(variable: &str, default: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target")
                .join(default)
        });
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/bench-images.sh)", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A 1600×900 gradient JPEG, its blue channel set to `blue`.
pub fn generated_jpeg(blue: u8) -> Vec<u8> {
    let photo = image::RgbImage::from_fn(1600, 900, |x, y| image::Rgb([x as u8, y as u8, blue]));
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(photo)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    bytes
}
