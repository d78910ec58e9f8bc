#!/usr/bin/env bash
# Builds the cached Debian 12 root the package is proven in (tests/debian-system): a minimal
# bookworm from debootstrap with what booting it under QEMU needs, and the root's own kernel
# uncompressed beside it (an ELF vmlinux boots ~3 s faster under TCG than the bzImage, see
# ../shared/research/usb-testing.md §B). tests/run.sh calls it; it does nothing when the cache is
# there and was built by this very recipe (the stamp is this file's hash), so editing the recipe
# rebuilds it. The tests never change the cache: they work on an overlay of it.
#
#   usage: build-root.sh [CACHE_DIR]     (default ~/.cache/dockd-ci/debian)
set -euo pipefail
cache="${1:-$HOME/.cache/dockd-ci/debian}"
root="$cache/bookworm"
stamp="$(sha256sum "$0" | cut -c1-16)"
if [ -d "$root" ] && [ "$(cat "$cache/bookworm.stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$cache/vmlinux" ]; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "build-root.sh: debootstrap and chroot need root" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$cache"
new="$cache/bookworm.new"
rm -rf "$new" "$cache/bookworm.stamp"
mirror=http://deb.debian.org/debian
# What booting needs beside minbase: systemd as init (systemd-sysv), udev, Debian's kernel with
# its initramfs-tools, networking (systemd-networkd ships in systemd), ca-certificates and curl
# (to hit the page from inside), adduser (the package's postinst creates its user with it) and
# procps (ps/pgrep for the checks), and systemd-timesyncd, Debian's time service, as a dock has one
# (the page's clock warning reads its mark under the hardened unit).
debootstrap --variant=minbase \
  --include=systemd-sysv,udev,linux-image-amd64,initramfs-tools,ca-certificates,curl,adduser,procps,iproute2,systemd-timesyncd \
  bookworm "$new" "$mirror"

echo dock > "$new/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdock\n' > "$new/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$new/etc/fstab"
cat > "$new/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
# The VM's only disk is virtio: an initramfs with just the modules to mount it boots faster than
# initramfs-tools' default of "most" modules (no autodetection is possible in a chroot).
echo 'MODULES=list' > "$new/etc/initramfs-tools/conf.d/dockd-ci"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$new/etc/initramfs-tools/modules"
cat > "$new/etc/systemd/network/10-dockd-ci.network" <<NET
[Match]
Name=en*

[Network]
DHCP=ipv4
NET
mount --bind /proc "$new/proc"
trap 'umount "$new/proc" 2>/dev/null || true' EXIT
chroot "$new" systemctl enable systemd-networkd.service
# apt's timers would run downloads during the idle measurement; a dock on a site network has
# its own update policy, not under test here.
chroot "$new" systemctl mask apt-daily.timer apt-daily-upgrade.timer
chroot "$new" update-initramfs -u -k all
chroot "$new" apt-get update -q
chroot "$new" apt-get clean
umount "$new/proc"
trap - EXIT

# Debian's kernel, uncompressed (the xz payload of the bzImage), for -kernel with qboot.
python3 - "$new" "$cache/vmlinux.new" <<'PY'
import glob, lzma, sys
data = open(sorted(glob.glob(sys.argv[1] + '/boot/vmlinuz-*'))[-1], 'rb').read()
pos = data.find(b'\xfd7zXZ\x00')
while pos >= 0:
    try:
        out = lzma.LZMADecompressor().decompress(data[pos:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out)
            sys.exit(0)
    except lzma.LZMAError:
        pass
    pos = data.find(b'\xfd7zXZ\x00', pos + 1)
sys.exit('no xz-compressed ELF kernel in ' + sys.argv[1] + '/boot')
PY
rm -rf "$root"
mv "$new" "$root"
mv "$cache/vmlinux.new" "$cache/vmlinux"
echo "$stamp" > "$cache/bookworm.stamp"
echo "build-root.sh: built $root in $(( $(date +%s) - start )) s ($(du -sh "$root" | cut -f1))"
