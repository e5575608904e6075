# The build and test tools a fresh machine may lack, each found on PATH or
# fetched once into a folder of our own, $FLIPFRAME_TOOLS (default
# ~/.cache/flipframe/tools/bin, put first on PATH by the callers):
#   cmake  from PyPI (a self-contained wheel: no root, no apt)
#   nasm   from Debian's archive (apt-get download + dpkg-deb -x: no root once
#          the package lists exist)
#   just   from PyPI (rust-just)
# Sourced by scripts/tools/cmake (the CMAKE that turbojpeg-sys's build runs),
# scripts/bootstrap.sh and .ci/run. Messages go to stderr: a build script's
# stdout is cargo's.

tools_home=${FLIPFRAME_TOOLS:-$HOME/.cache/flipframe/tools}
tools_bin=$tools_home/bin

# Succeeds when NAME on PATH (or already fetched) runs.
tool_works() {
    local path
    path=$(PATH="$tools_bin:$PATH" command -v "$1" 2>/dev/null) || return 1
    case $1 in
        nasm) "$path" -v >/dev/null 2>&1 ;;
        *) "$path" --version >/dev/null 2>&1 ;;
    esac
}

# Prints the path of a working NAME, fetching it first if need be.
tool_path() {
    tool_works "$1" || tool_fetch "$1" || return 1
    tool_works "$1" || return 1
    PATH="$tools_bin:$PATH" command -v "$1"
}

tool_fetch() {
    mkdir -p "$tools_bin" || return 1
    (
        # One fetcher at a time: cargo may run two build scripts that want cmake.
        flock 9
        tool_works "$1" && exit 0
        echo "flipframe: $1 is missing; fetching it into $tools_home" >&2
        case $1 in
            cmake) fetch_from_pypi cmake cmake/data/bin/cmake ;;
            just) fetch_from_pypi rust-just bin/just ;;
            nasm) fetch_from_debian nasm usr/bin/nasm ;;
            *) false ;;
        esac
    ) 9>"$tools_home/.lock"
}

# fetch_from_pypi PACKAGE PATH-OF-THE-PROGRAM-IN-IT
fetch_from_pypi() {
    local into=$tools_home/pypi/$1
    command -v python3 >/dev/null 2>&1 || return 1
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
        --upgrade --target "$into" "$1" >&2 || return 1
    ln -sf "$into/$2" "$tools_bin/$(basename "$2")"
}

# fetch_from_debian PACKAGE PATH-OF-THE-PROGRAM-IN-IT
fetch_from_debian() {
    local into=$tools_home/debian/$1 download
    command -v apt-get >/dev/null 2>&1 || return 1
    download=$(mktemp -d) || return 1
    if ! (cd "$download" && apt-get download -qq "$1" >/dev/null 2>&1); then
        # A fresh image has no package lists; only root can fetch them.
        [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 &&
            (cd "$download" && apt-get download -qq "$1" >/dev/null 2>&1) ||
            { rm -rf "$download"; return 1; }
    fi
    rm -rf "$into" && mkdir -p "$into" && dpkg-deb -x "$download"/*.deb "$into" && rm -rf "$download" || return 1
    ln -sf "$into/$2" "$tools_bin/$(basename "$2")"
}
