//! Build facts for `flipframe --version`: the git commit, the versions of the
//! decoder crates in Cargo.lock, and the libjpeg-turbo the build compiled
//! (its own jconfig.h, found through turbojpeg-sys's include path).

use std::path::Path;

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=FLIPFRAME_GIT_COMMIT={commit}");
    for watched in ["../.git/HEAD", "../.git/refs/heads", "../Cargo.lock"] {
        if Path::new(watched).exists() {
            println!("cargo:rerun-if-changed={watched}");
        }
    }

    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    for (name, variable) in [
        ("image", "FLIPFRAME_IMAGE_VERSION"),
        ("png", "FLIPFRAME_PNG_VERSION"),
        ("gif", "FLIPFRAME_GIF_VERSION"),
        ("zune-jpeg", "FLIPFRAME_ZUNE_JPEG_VERSION"),
        ("image-webp", "FLIPFRAME_IMAGE_WEBP_VERSION"),
        ("fast_image_resize", "FLIPFRAME_RESIZE_VERSION"),
    ] {
        println!("cargo:rustc-env={variable}={}", locked_version(&lock, name));
    }

    let include = std::env::var("DEP_TURBOJPEG_INCLUDE").unwrap_or_default();
    let include: Vec<&str> = include.split(',').filter(|path| !path.is_empty()).collect();
    if std::env::var_os("CARGO_FEATURE_NATIVE_CODECS").is_some() {
        compile_jpeg_scaled(&include);
        compile_webp_frame(&locked_version(&lock, "libwebp-sys"));
    }
    let libjpeg_turbo = include
        .iter()
        .find_map(|path| std::fs::read_to_string(Path::new(path).join("jconfig.h")).ok())
        .and_then(|header| {
            header.lines().find_map(|line| {
                let version = line.strip_prefix("#define LIBJPEG_TURBO_VERSION ")?;
                Some(version.trim().to_owned())
            })
        })
        .unwrap_or_default();
    println!("cargo:rustc-env=FLIPFRAME_LIBJPEG_TURBO_VERSION={libjpeg_turbo}");

    // Every allocation of the binary, the C codecs' too, passes through
    // main.rs's `__wrap_*` functions (huge pages for image-sized blocks).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let wrapped = ["malloc", "calloc", "realloc", "posix_memalign"];
        let flags: Vec<String> = wrapped
            .iter()
            .map(|name| format!("--wrap={name}"))
            .collect();
        println!("cargo:rustc-link-arg-bins=-Wl,{}", flags.join(","));
    }
}

/// The version of `name` in Cargo.lock (the first, should there be two).
fn locked_version(lock: &str, name: &str) -> String {
    let entry = format!("name = \"{name}\"\nversion = \"");
    lock.find(&entry)
        .and_then(|at| lock[at + entry.len()..].split('"').next())
        .unwrap_or("?")
        .to_owned()
}

/// The libjpeg-API decoder of `pipeline/decode/jpeg_scaled.c`, against the
/// headers of the libjpeg-turbo that turbojpeg-sys built (and links).
fn compile_jpeg_scaled(include: &[&str]) {
    let source = "src/pipeline/decode/jpeg_scaled.c";
    println!("cargo:rerun-if-changed={source}");
    cc::Build::new()
        .file(source)
        .includes(include)
        .warnings(true)
        .compile("flipframe_jpeg_scaled");
}

/// The lossy WebP driver of `pipeline/decode/webp_frame.c`, against the
/// internal headers of the libwebp that libwebp-sys built (and links): its
/// sources in Cargo's registry (libwebp-sys publishes no include path).
fn compile_webp_frame(version: &str) {
    let source = "src/pipeline/decode/webp_frame.c";
    println!("cargo:rerun-if-changed={source}");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_default();
    let crate_dir = format!("libwebp-sys-{version}");
    let vendor = std::fs::read_dir(cargo_home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|registry| registry.path().join(&crate_dir).join("vendor"))
        .find(|vendor| vendor.join("src/dec/vp8i_dec.h").exists())
        .unwrap_or_else(|| {
            panic!(
                "libwebp-sys {version}'s sources are not under {}/registry/src",
                cargo_home.display()
            )
        });
    cc::Build::new()
        .file(source)
        .include(&vendor)
        // libwebp-sys's own defines, which its structs were compiled with.
        .define("NDEBUG", "1")
        .define("_THREAD_SAFE", "1")
        .define("WEBP_USE_THREAD", "1")
        .warnings(true)
        .compile("flipframe_webp_frame");
}
