#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this file). It installs what the tests
# need first — idempotently, so a second run installs nothing — then checks formatting and lints and
# runs every unit, property and end-to-end test. Nothing is skipped silently: a missing tool is
# installed or the run fails saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# Debian packages the build and the tests use: libusb's headers for rusb (through pkg-config),
# umockdev, whose preload library lets the USB tests run the real libusb path with no USB bus,
# Chromium with its chromedriver for the browser tests of the page (tests/e2e/browser.rs), a real
# gpsd with gpsfake (gpsd-clients, which brings python3-gps) replaying receiver recordings for the
# GPS tests, socat, picocom and tmux to drive the serial console through real ptys, python3-venv
# for DuckDB's venv (below), and curl and zstd, which the upload benchmark measures dockd against
# (`cargo bench -p dockd --bench upload`; its sends and `zstd -3` are the yardsticks). The Debian
# package's checks (tests/e2e/package.rs) use lintian, binutils' readelf and nm, dpkg-dev's
# dpkg-shlibdeps (cargo-deb's Depends) and systemd's systemd-analyze and systemd-socket-activate.
packages=(pkg-config gcc libusb-1.0-0-dev umockdev libumockdev-dev chromium chromium-driver
  gpsd gpsd-clients socat picocom tmux python3-venv curl zstd
  lintian binutils dpkg-dev systemd)
# The Debian system the package is proven in (tests/debian-system): debootstrap for the cached
# bookworm root, QEMU (with qboot) to boot it, e2fsprogs' mkfs.ext4 for its disk image, and
# openssl for the page certificate's fingerprint.
packages+=(debootstrap qemu-system-x86 e2fsprogs openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Without libusb-1.0-0-dev, libusb1-sys silently builds its bundled libusb; rebuild it against
  # Debian's now that the headers are here (the USB tests check which one they run on).
  if [[ " ${missing[*]} " == *" libusb-1.0-0-dev "* ]]; then
    cargo clean -p libusb1-sys
  fi
fi

# Rust components the checks use.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    say "installing rustup component $component"
    rustup component add "$component"
  fi
done

# Tools the upload tests run as real servers, built or installed into a cache outside the
# repository (tests/receivers finds them there): s3s-fs, an S3-compatible server that verifies
# SigV4 and keeps objects in a folder (0.14.1 is the newest whose rust-version this toolchain
# meets; tests/receivers/src/s3.rs names the same version), reinstalled only when missing or
# another version.
ci_root="$HOME/.cache/dockd-ci"
S3S_FS_VERSION=0.14.1
if [ "$("$ci_root/bin/s3s-fs" --version 2>/dev/null)" != "s3s-fs $S3S_FS_VERSION" ]; then
  say "installing s3s-fs $S3S_FS_VERSION into $ci_root/bin"
  cargo install --locked --force s3s-fs --version "$S3S_FS_VERSION" --features binary --root "$ci_root"
fi
# cargo-deb, which packs the release binary into the .deb (3.8.0: builds with this toolchain;
# reinstalled only when missing or another version).
CARGO_DEB_VERSION=3.8.0
if [ "$("$ci_root/bin/cargo-deb" --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  say "installing cargo-deb $CARGO_DEB_VERSION into $ci_root/bin"
  cargo install --locked --force cargo-deb --version "$CARGO_DEB_VERSION" --root "$ci_root"
fi
# DuckDB from PyPI, the engine the fleet test reads the S3 server's folder with (Hive partitions,
# zstd NDJSON), in a venv of its own (tests/receivers/src/duckdb.rs runs its python).
DUCKDB_VERSION=2.0.1
venv="$ci_root/venv"
if [ "$("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null)" != "$DUCKDB_VERSION" ]; then
  say "installing duckdb $DUCKDB_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "duckdb==$DUCKDB_VERSION"
fi

# The cached Debian 12 root (debootstrap --variant=minbase bookworm, with systemd, udev and Debian's
# kernel) the package is installed and booted in: rebuilt only when missing or when its recipe
# (tests/debian-system/build-root.sh, whose hash is the stamp) changed; ~90 s and ~700 MB.
tests/debian-system/build-root.sh "$ci_root/debian"

# The test data (protocol vectors, GPS recordings) is in tests/data, so a clone needs nothing
# beside it; when ../shared is there, tests/e2e/tidy.rs checks the copy is byte-identical.

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The Debian package (issue 16): the release binary, built once, packed by cargo-deb; the tests
# (tests/e2e/package.rs, and the install and boot tests) read it from DOCKD_DEB.
say "cargo build --release -p dockd, cargo deb"
cargo build --release -p dockd --locked
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
rm -f "$target_dir"/debian/dockd_*.deb "$target_dir"/debian/dockd-dbgsym_*.ddeb
PATH="$ci_root/bin:$PATH" cargo deb -p dockd --no-build --locked
deb=("$target_dir"/debian/dockd_*.deb)
[ ${#deb[@]} -eq 1 ] && [ -f "${deb[0]}" ] || { echo "cargo deb made no single .deb: ${deb[*]}" >&2; exit 1; }
export DOCKD_DEB="${deb[0]}"
printf '%s: %s bytes, installed size %s KiB\n' "$DOCKD_DEB" "$(stat -c %s "$DOCKD_DEB")" \
  "$(dpkg-deb -f "$DOCKD_DEB" Installed-Size)"

# The self-update test in the booted system (tests/debian-system/tests/self_update.rs) installs a
# test build of the package: the .deb above with the debug dockd as its binary (only a debug build
# trusts the test release key a test can sign with). `cargo test --workspace` below builds that
# binary, target/debug/dockd, before it runs any test (dockd's end-to-end tests run it as
# CARGO_BIN_EXE_dockd), so it is this tree's, with no build of its own.
export DOCKD_DEBUG_BIN="$target_dir/debug/dockd"

say "cargo test"
cargo test --workspace --locked
