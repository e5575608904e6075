//! The image pipeline on real images: geometry, the 180° turn, EXIF,
//! metadata, transparency, fit modes, and every class of bad input.

mod support;

use flipframe::pipeline::{
    self, Fit, Format, Limits, OutputFormat, Rejection, TransformSpec, transform,
};
use support::images::*;

fn run(bytes: &[u8]) -> pipeline::Encoded {
    transform(bytes, &TransformSpec::default(), &Limits::default()).expect("transforms")
}

fn run_with_fit(bytes: &[u8], fit: Fit) -> pipeline::Encoded {
    let spec = TransformSpec {
        fit,
        ..TransformSpec::default()
    };
    transform(bytes, &spec, &Limits::default()).expect("transforms")
}

#[test]
fn output_is_1280_by_720_jpeg_for_every_accepted_format() {
    let inputs = [
        ("jpeg", marked_jpeg()),
        ("png", png(quadrants(1000, 1000))),
        ("webp", fixture("quadrants.webp")),
        ("gif", fixture("animated.gif")),
        ("bmp", fixture("quadrants.bmp")),
        ("tiff", fixture("quadrants.tiff")),
        ("tiny", png(quadrants(3, 2))),
        ("panorama", png(quadrants(8000, 200))),
    ];
    for (name, bytes) in inputs {
        let encoded = run(&bytes);
        assert_eq!(encoded.format, OutputFormat::Jpeg, "{name}");
        let output = decode(&encoded.bytes);
        assert_eq!((output.width(), output.height()), (1280, 720), "{name}");
        assert_eq!((encoded.width, encoded.height), (1280, 720), "{name}");
    }
}

#[test]
fn the_image_is_turned_half_way_round() {
    let output = decode(&run(&marked_jpeg()).bytes);
    // Red was top-left; after 180° it is bottom-right, and so on.
    assert_corners(&output, [WHITE, BLUE, GREEN, RED]);
}

#[test]
fn exif_orientation_is_applied_before_the_turn() {
    // Orientation 3 says "display upside down": with the 180° turn on top the
    // output looks like the stored pixels.
    let upside_down = with_exif_orientation(&marked_jpeg(), 3);
    assert_corners(&decode(&run(&upside_down).bytes), [RED, GREEN, BLUE, WHITE]);

    // Orientation 6 says "rotate 90° clockwise": a portrait photo, whose centre
    // band is cropped into the landscape frame.
    let portrait = with_exif_orientation(&marked_jpeg(), 6);
    let validated = pipeline::validate(&portrait, Some("image/jpeg"), &Limits::default()).unwrap();
    assert_eq!((validated.width, validated.height), (900, 1600));
    assert_corners(&decode(&run(&portrait).bytes), [GREEN, WHITE, RED, BLUE]);
}

#[test]
fn a_real_phone_style_photo_is_oriented_and_stripped_of_metadata() {
    let photo = fixture("exif-orientation-6.jpg");
    assert!(contains(&photo, b"Exif") && contains(&photo, b"FlipframeCam"));
    let validated = pipeline::validate(&photo, None, &Limits::default()).unwrap();
    assert_eq!((validated.width, validated.height), (180, 320));
    let encoded = run(&photo);
    assert!(!contains(&encoded.bytes, b"Exif"), "EXIF survived");
    assert!(
        !contains(&encoded.bytes, b"FlipframeCam"),
        "camera make survived"
    );
    assert!(
        !has_jpeg_marker(&encoded.bytes, 0xE1),
        "an APP1 segment survived"
    );
    assert_corners(&decode(&encoded.bytes), [GREEN, WHITE, RED, BLUE]);
}

#[test]
fn transparency_is_kept_as_png() {
    for bytes in [transparent_png(1600, 900), fixture("transparent.png")] {
        let encoded = run(&bytes);
        assert_eq!(encoded.format, OutputFormat::Png);
        let output = decode(&encoded.bytes).to_rgba8();
        assert_eq!(output.dimensions(), (1280, 720));
        // The transparent top-left quadrant ends up bottom-right.
        assert_eq!(output.get_pixel(1180, 620).0[3], 0);
        assert_eq!(output.get_pixel(100, 100).0[3], 255);
    }
}

#[test]
fn an_opaque_image_with_an_alpha_channel_becomes_jpeg() {
    let rgba = image::DynamicImage::ImageRgb8(quadrants(1600, 900)).to_rgba8();
    let bytes = encode(
        &image::DynamicImage::ImageRgba8(rgba),
        image::ImageFormat::Png,
    );
    assert_eq!(run(&bytes).format, OutputFormat::Jpeg);
}

#[test]
fn animated_gifs_use_their_first_frame() {
    let output = decode(&run(&animated_gif(&[RED, BLUE, GREEN])).bytes);
    assert_colour(&output, 640, 360, RED);
}

#[test]
fn fit_modes_differ_as_documented() {
    // A 2:1 image: left half red, right half blue (quadrants with equal rows).
    let wide = image::RgbImage::from_fn(2000, 1000, |x, _| {
        image::Rgb(if x < 1000 { RED } else { BLUE })
    });
    let bytes = png(wide);

    let contain = decode(&run_with_fit(&bytes, Fit::Contain).bytes);
    // 1280×640 inside 1280×720: 40 px black bars top and bottom.
    assert_colour(&contain, 640, 10, BLACK);
    assert_colour(&contain, 640, 710, BLACK);
    assert_colour(&contain, 100, 360, BLUE);

    let cover = decode(&run_with_fit(&bytes, Fit::Cover).bytes);
    // The sides are cropped: content reaches the top edge, no bars.
    assert_colour(&cover, 100, 5, BLUE);
    assert_colour(&cover, 1180, 5, RED);

    let fill = decode(&run_with_fit(&bytes, Fit::Fill).bytes);
    // Stretched: the colour boundary stays exactly at the centre.
    assert_colour(&fill, 630, 360, BLUE);
    assert_colour(&fill, 650, 360, RED);
    assert_colour(&fill, 640, 5, fill.to_rgb8().get_pixel(640, 5).0);
    // Cover crops 2000→1778 px of width, so its boundary is also central but
    // the scale differs: a pixel 300 px left of centre is blue in both.
    assert_colour(&cover, 340, 360, BLUE);
}

#[test]
fn the_transform_is_deterministic() {
    let bytes = marked_jpeg();
    assert_eq!(run(&bytes).bytes, run(&bytes).bytes);
}

#[test]
fn bad_input_is_refused_with_the_right_reason() {
    let limits = Limits::default();
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("empty", vec![], "empty_body", 400),
        (
            "text",
            b"just some text".to_vec(),
            "unsupported_format",
            415,
        ),
        ("svg", fixture("script.svg"), "svg_not_accepted", 415),
        (
            "pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            "unsupported_format",
            415,
        ),
        (
            "truncated jpeg",
            fixture("truncated.jpg"),
            "undecodable_image",
            400,
        ),
        (
            "jpeg cut after the header",
            marked_jpeg()[..700].to_vec(),
            "undecodable_image",
            400,
        ),
        (
            "png cut in half",
            half(&png(quadrants(300, 300))),
            "undecodable_image",
            400,
        ),
        (
            "gif cut in half",
            half(&animated_gif(&[RED, BLUE])),
            "undecodable_image",
            400,
        ),
        (
            "bomb: 100000² png",
            png_claiming(100_000, 100_000),
            "dimensions_exceeded",
            400,
        ),
        (
            "side over the limit",
            png_claiming(16_385, 10),
            "dimensions_exceeded",
            400,
        ),
        (
            "pixels over the limit",
            png_claiming(10_000, 5_001),
            "dimensions_exceeded",
            400,
        ),
        ("zero width", png_claiming(0, 10), "undecodable_image", 400),
    ];
    for (name, bytes, code, status) in cases {
        let rejection = pipeline::validate(&bytes, None, &limits).expect_err(name);
        assert_eq!(rejection.code(), code, "{name}: {rejection}");
        assert_eq!(rejection.status().as_u16(), status, "{name}");
        // The transform refuses exactly the same way.
        let again = transform(&bytes, &TransformSpec::default(), &limits).expect_err(name);
        assert_eq!(again.code(), code, "{name}");
    }
}

#[test]
fn a_declared_type_that_contradicts_the_bytes_is_refused() {
    let rejection = pipeline::validate(&marked_jpeg(), Some("image/png"), &Limits::default())
        .expect_err("contradiction");
    assert_eq!(
        rejection,
        Rejection::ContentTypeMismatch {
            declared: "image/png".into(),
            detected: "image/jpeg".into()
        }
    );
    assert_eq!(rejection.status().as_u16(), 415);
}

#[test]
fn frame_and_pixel_limits_are_configurable() {
    let limits = Limits {
        max_frames: 2,
        max_pixels: 10_000,
        ..Limits::default()
    };
    let gif = animated_gif(&[RED, GREEN, BLUE]);
    assert_eq!(
        pipeline::validate(&gif, None, &limits).unwrap_err(),
        Rejection::TooManyFrames { limit: 2 }
    );
    let big = png(quadrants(200, 200));
    assert_eq!(
        pipeline::validate(&big, None, &limits).unwrap_err().code(),
        "dimensions_exceeded"
    );
    assert!(pipeline::validate(&png(quadrants(100, 100)), None, &limits).is_ok());
}

#[test]
fn every_stage_can_be_run_on_its_own() {
    let bytes = marked_jpeg();
    let limits = Limits::default();
    let format = pipeline::sniff(&bytes).unwrap();
    assert_eq!(format, Format::Jpeg);
    let inspection = pipeline::inspect(&bytes, format, &limits).unwrap();
    assert_eq!((inspection.width, inspection.height), (1600, 900));
    let decoded = pipeline::decode(&bytes, &inspection, &limits).unwrap();
    let mut framed = pipeline::resize(decoded, &TransformSpec::default()).unwrap();
    assert_eq!((framed.width(), framed.height()), (1280, 720));
    pipeline::rotate_half_turn(&mut framed);
    assert_corners(&framed, [WHITE, BLUE, GREEN, RED]);
    let encoded = pipeline::encode(framed, &TransformSpec::default()).unwrap();
    assert_eq!(encoded.format, OutputFormat::Jpeg);
}

/// An upright RGB JPEG is resized as its rows are decoded (with the native
/// codecs; the pure-Rust build always takes the two stages); the frame must
/// be the very one the two stages make (decode for the frame, then resize).
#[test]
fn decoding_and_resizing_in_one_pass_matches_the_two_stages() {
    let native = cfg!(feature = "native-codecs");
    let limits = Limits::default();
    let photos = [
        fixture("progressive.jpg"),
        marked_jpeg(),
        jpeg(&quadrants(1001, 333)),
        jpeg(&quadrants(333, 1001)),
        jpeg(&quadrants(1300, 730)),
    ];
    for (index, bytes) in photos.iter().enumerate() {
        let inspection = pipeline::inspect(bytes, Format::Jpeg, &limits).unwrap();
        for fit in [Fit::Cover, Fit::Fill] {
            let spec = TransformSpec {
                fit,
                ..TransformSpec::default()
            };
            let one_pass = pipeline::decode_to_frame(bytes, &inspection, &spec);
            assert_eq!(
                one_pass.is_some(),
                native,
                "photo {index}: the one-pass path"
            );
            let Some(one_pass) = one_pass else {
                continue;
            };
            let one_pass = one_pass.unwrap();
            let decoded = pipeline::decode_for_frame(bytes, &inspection, &limits, &spec).unwrap();
            let two_stages = pipeline::resize(decoded, &spec).unwrap();
            assert!(one_pass == two_stages, "photo {index}, {fit:?}");
        }
    }
    // Where the one-pass path does not go (a turned photo, a grey one),
    // the two stages do.
    let spec = TransformSpec::default();
    for other in ["exif-orientation-6.jpg", "progressive-deep-4096.jpg"] {
        let bytes = fixture(other);
        let inspection = pipeline::inspect(&bytes, Format::Jpeg, &limits).unwrap();
        assert!(
            pipeline::decode_to_frame(&bytes, &inspection, &spec).is_none(),
            "{other}"
        );
    }
    let contain = TransformSpec {
        fit: Fit::Contain,
        ..spec
    };
    let upright = marked_jpeg();
    let inspection = pipeline::inspect(&upright, Format::Jpeg, &limits).unwrap();
    assert!(pipeline::decode_to_frame(&upright, &inspection, &contain).is_none());
}

fn half(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() / 2].to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether a JPEG has a marker segment 0xFF `marker` before its scan data.
fn has_jpeg_marker(jpeg: &[u8], marker: u8) -> bool {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let kind = jpeg[at + 1];
        if kind == marker {
            return true;
        }
        if kind == 0xDA {
            return false;
        }
        at += 2 + u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
    }
    false
}

fn psnr(a: &image::DynamicImage, b: &image::DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let squared: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.as_raw().len() as f64;
    10.0 * (255.0f64.powi(2) / mse).log10()
}

#[test]
fn shrinking_while_decoding_keeps_the_quality_of_a_full_decode() {
    // A textured 6 MP photo stand-in: JPEG decodes at 1/2 scale, WebP scaled;
    // both are cropped to the rows the frame shows. Turned upright by EXIF,
    // the same JPEG is a portrait whose columns are cropped instead.
    let photo = image::RgbImage::from_fn(3200, 2000, |x, y| {
        let wave = ((x as f64 / 37.0).sin() * (y as f64 / 23.0).cos() * 90.0 + 128.0) as u8;
        image::Rgb([wave, (x / 16 + y / 24) as u8, ((x ^ y) >> 4) as u8])
    });
    let native = cfg!(feature = "native-codecs");
    let sources = [
        // Scaled to 1/2, then the 1800 rows cover shows plus a 10-pixel
        // margin: 910 of 1000 rows.
        (
            "jpeg",
            jpeg(&photo),
            if native { (1600, 910) } else { (3200, 2000) },
        ),
        // Upright it is 2000×3200 and needs 0.64: full scale, and of its 3200
        // rows (stored columns) 1125 are shown; with the margin and the MCU
        // grid, stored columns 1024..2176.
        (
            "portrait jpeg",
            with_exif_orientation(&jpeg(&photo), 6),
            if native { (2000, 1152) } else { (2000, 3200) },
        ),
        // Scaled to 0.4 and cropped to the 1800 rows cover shows, plus a
        // margin, on the scaler's 10-row grid: 1820 rows.
        (
            "webp",
            encode(
                &image::DynamicImage::ImageRgb8(photo.clone()),
                image::ImageFormat::WebP,
            ),
            if native { (1280, 728) } else { (3200, 2000) },
        ),
    ];
    let (spec, limits) = (TransformSpec::default(), Limits::default());
    for (name, bytes, shrunk_size) in sources {
        let fast = decode(&run(&bytes).bytes);
        let format = pipeline::sniff(&bytes).unwrap();
        let inspection = pipeline::inspect(&bytes, format, &limits).unwrap();
        let shrunk = pipeline::decode_for_frame(&bytes, &inspection, &limits, &spec).unwrap();
        assert_eq!((shrunk.width(), shrunk.height()), shrunk_size, "{name}");
        let full = pipeline::decode(&bytes, &inspection, &limits).unwrap();
        assert_eq!(full.width() * full.height(), 3200 * 2000);
        let mut reference = pipeline::resize(full, &spec).unwrap();
        pipeline::rotate_half_turn(&mut reference);
        let reference = decode(&pipeline::encode(reference, &spec).unwrap().bytes);
        let quality = psnr(&fast, &reference);
        eprintln!("{name}: {quality:.1} dB against a full decode");
        assert!(
            quality >= 35.0,
            "{name}: {quality:.1} dB against a full decode"
        );
    }
}

#[test]
fn a_large_png_with_alpha_is_box_shrunk_while_decoding_without_fringes() {
    // 5200×3000 bound for 1280×720: rows are averaged in 2×2 blocks as they
    // arrive. The left third is fully transparent red, which must not bleed.
    let photo = image::RgbaImage::from_fn(5200, 3000, |x, y| {
        if x < 1733 {
            return image::Rgba([255, 0, 0, 0]);
        }
        let wave = ((x as f64 / 41.0).sin() * (y as f64 / 29.0).cos() * 90.0 + 128.0) as u8;
        image::Rgba([0, wave, 255 - wave, (128 + (y % 128)) as u8])
    });
    let bytes = encode(
        &image::DynamicImage::ImageRgba8(photo),
        image::ImageFormat::Png,
    );
    let (spec, limits) = (TransformSpec::default(), Limits::default());
    let encoded = run(&bytes);
    assert_eq!(encoded.format, OutputFormat::Png, "transparency is kept");
    let fast = decode(&encoded.bytes).to_rgba8();

    let inspection = pipeline::inspect(&bytes, pipeline::Format::Png, &limits).unwrap();
    let shrunk = pipeline::decode_for_frame(&bytes, &inspection, &limits, &spec).unwrap();
    assert_eq!(
        (shrunk.width(), shrunk.height()),
        (2600, 1500),
        "shrunk on load"
    );
    let mut reference = pipeline::resize(
        pipeline::decode(&bytes, &inspection, &limits).unwrap(),
        &spec,
    )
    .unwrap();
    pipeline::rotate_half_turn(&mut reference);
    let reference = reference.to_rgba8();
    // Compared premultiplied: the colour of a transparent pixel means nothing.
    let premultiplied = |p: &image::Rgba<u8>| {
        let a = f64::from(p.0[3]);
        [p.0[0], p.0[1], p.0[2]]
            .map(|c| f64::from(c) * a / 255.0)
            .into_iter()
            .chain([a])
    };
    let squared: f64 = fast
        .pixels()
        .zip(reference.pixels())
        .flat_map(|(a, b)| premultiplied(a).zip(premultiplied(b)))
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let quality = 10.0 * (255.0f64.powi(2) / (squared / (1280.0 * 720.0 * 4.0))).log10();
    assert!(quality >= 35.0, "{quality:.1} dB against a full decode");
    // Turned half way round, the transparent third is on the right; red never shows.
    assert!(
        fast.pixels().all(|p| p.0[0] < 8 || p.0[3] == 0),
        "no red fringe"
    );
    assert_eq!(fast.get_pixel(1279, 360).0[3], 0);
}

/// The scan structure is read before any decoder runs, so every build
/// (libjpeg-turbo or pure Rust) refuses the same bombs at the same cost.
#[test]
fn progressive_bombs_are_refused_from_their_structure_in_either_build() {
    let progressive = fixture("progressive.jpg");
    assert!(pipeline::validate(&progressive, None, &Limits::default()).is_ok());
    let started = std::time::Instant::now();
    let bomb = repeated_last_scan(&progressive, 450);
    let rejection = pipeline::validate(&bomb, None, &Limits::default()).unwrap_err();
    assert_eq!(rejection.code(), "undecodable_image");
    assert!(rejection.to_string().contains("progression"), "{rejection}");
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    // A valid but costly progression is measured, and refused over the limit.
    let deep = fixture("progressive-deep-4096.jpg");
    let tight = Limits {
        max_decode_work: 1_000_000,
        ..Limits::default()
    };
    assert_eq!(
        pipeline::validate(&deep, None, &tight).unwrap_err().code(),
        "too_complex"
    );
}
