#!/usr/bin/env bash
# Builds the arm64 package on an amd64 Debian 12 host with Debian's cross toolchain: the release
# binary for aarch64-unknown-linux-gnu, linked against Debian's arm64 libusb, packed by cargo-deb
# into target/aarch64-unknown-linux-gnu/debian/dockd_<version>-1_arm64.deb (and its -dbgsym .ddeb;
# cargo-deb links both into target/debian too). Not part of tests/run.sh
# (it would double the build); run it for an ARM dock. Needs, once, as root:
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross libusb-1.0-0-dev:arm64
#   rustup target add aarch64-unknown-linux-gnu
# and cargo-deb (tests/run.sh installs it into ~/.cache/dockd-ci/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# libusb1-sys finds Debian's arm64 libusb through pkg-config (never its bundled copy).
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
cargo build --release -p dockd --locked --target aarch64-unknown-linux-gnu
PATH="$HOME/.cache/dockd-ci/bin:$PATH" cargo deb -p dockd --no-build --locked --target aarch64-unknown-linux-gnu
