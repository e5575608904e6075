#!/usr/bin/env bash
# Fetches the benchmark images from Debian wallpaper packages (real photos,
# never committed), once, and prints DIR:
#   DIR (default target/bench-images): one image per input class;
#   DIR/../bench-photos: every 12–20 MP JPEG photo of those packages, for the
#   service load benchmark.
set -euo pipefail
dir=${1:-target/bench-images}
photos=$(dirname "$dir")/bench-photos
mkdir -p "$dir" "$photos"
# Bump when the set changes, so cached sets are remade.
set_version=2
if [ "$(cat "$dir/.complete" 2>/dev/null)" = "$set_version" ] && [ -f "$photos/.complete" ]; then
    echo "$dir"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq lomiri-wallpapers-20.04 lomiri-wallpapers-16.04 gnome-backgrounds \
    plasma-workspace-wallpapers mate-backgrounds >/dev/null)
for package in "$work"/*.deb; do dpkg -x "$package" "$work/root"; done
# (A `convert` earlier on PATH may be a stand-in: take the real ImageMagick.)
imagemagick() {
    for candidate in magick convert-im6.q16 convert; do
        "$candidate" -version 2>/dev/null | grep -q ImageMagick && { echo "$candidate"; return; }
    done
    return 1
}
convert=$(imagemagick) || { apt-get install -y -qq imagemagick >/dev/null; convert=$(imagemagick); }

take() { cp "$work/root/usr/share/$1" "$dir/$2"; }
take backgrounds/Kleiber_by_Lukas_Baubkus.jpg           jpeg-20mp-baseline-422.jpg
take backgrounds/seeding_by_Clements_Engelhardt.jpg     jpeg-16mp-progressive-420.jpg
take backgrounds/mate/abstract/Elephants_3840x2160.jpg  jpeg-4k.jpg
take wallpapers/Patak/contents/images/5120x2880.png     png-15mp-rgba.png
take backgrounds/gnome/pixels-l.webp                    webp-4096-lossy.webp
# A phone-style photo: 4:3, baseline, 4:2:0 (the wallpapers are 16:9 or progressive).
"$convert" "$work/root/usr/share/backgrounds/Dragonfly_by_Bolly.jpg" -interlace none -sampling-factor 2x2 \
    -quality 92 "$dir/jpeg-13mp-4x3-baseline-420.jpg"
# No wallpaper is a GIF: make a 1920×1080 two-frame animation from the 4K photo.
"$convert" "$dir/jpeg-4k.jpg" -resize 1920x1080 \( +clone -flop \) -delay 50 -loop 0 "$dir/gif-1080p-animated.gif"
echo "$set_version" > "$dir/.complete"

find "$work/root" -iname '*.jpg' | sort | while read -r photo; do
    size=$("$convert" -ping "$photo" -format '%w %h' info: 2>/dev/null) || continue
    pixels=$(( ${size% *} * ${size#* } ))
    if [ "$pixels" -ge 12000000 ] && [ "$pixels" -le 20500000 ]; then
        # Wallpaper themes name their files by size: keep the theme's name.
        name=$(echo "${photo#"$work"/root/usr/share/}" | tr '/' '-')
        cp "$photo" "$photos/$name"
    fi
done
touch "$photos/.complete"
echo "$dir"
