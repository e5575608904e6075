//! What the transformed image looks like, pixel by pixel.

use crate::images::{colour, decode_output};
use crate::support::images::{BLACK, assert_colour};
use crate::world::FlipframeWorld;
use cucumber::{given, then};
use flipframe::pipeline::Fit;

async fn transformed(world: &mut FlipframeWorld) -> image::DynamicImage {
    if world.downloaded.is_empty() {
        let id = world.upload_id();
        world.downloaded = world
            .get_ok(&format!("/v1/images/{id}/transformed"))
            .await
            .body;
    }
    decode_output(&world.downloaded)
}

#[then(regex = r"^its corners, clockwise from the top left, are (\w+), (\w+), (\w+) and (\w+)$")]
async fn corners(
    world: &mut FlipframeWorld,
    top_left: String,
    top_right: String,
    bottom_right: String,
    bottom_left: String,
) {
    let image = transformed(world).await;
    assert_colour(&image, 100, 100, colour(&top_left));
    assert_colour(&image, 1180, 100, colour(&top_right));
    assert_colour(&image, 1180, 620, colour(&bottom_right));
    assert_colour(&image, 100, 620, colour(&bottom_left));
}

#[then("the transformed image carries no metadata")]
async fn no_metadata(world: &mut FlipframeWorld) {
    transformed(world).await;
    let bytes = &world.downloaded;
    for marker in [&b"Exif"[..], b"FlipframeCam", b"GPS"] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{} survived",
            String::from_utf8_lossy(marker)
        );
    }
}

#[then("its bottom-right corner is transparent")]
async fn transparent_corner(world: &mut FlipframeWorld) {
    let image = transformed(world).await.to_rgba8();
    assert_eq!(image.get_pixel(1180, 620).0[3], 0);
    assert_eq!(image.get_pixel(100, 100).0[3], 255);
}

#[then(regex = r"^the transformed image is (\w+) in the middle$")]
async fn middle(world: &mut FlipframeWorld, name: String) {
    let image = transformed(world).await;
    assert_colour(&image, 640, 360, colour(&name));
}

#[given(expr = "the service fits images by {string}")]
fn fit_mode(world: &mut FlipframeWorld, mode: String) {
    world.variant.fit = match mode.as_str() {
        "cover" => Fit::Cover,
        "fill" => Fit::Fill,
        "contain" => Fit::Contain,
        other => panic!("no fit {other:?}"),
    };
}

#[then(regex = r"^the pixel at the top centre is (picture|black)$")]
async fn top_centre(world: &mut FlipframeWorld, what: String) {
    let image = transformed(world).await;
    if what == "black" {
        assert_colour(&image, 640, 5, BLACK);
    } else {
        let [r, g, b] = image.to_rgb8().get_pixel(640, 5).0;
        assert!(
            u16::from(r) + u16::from(g) + u16::from(b) > 120,
            "({r}, {g}, {b}) is a letterbox bar"
        );
    }
}
