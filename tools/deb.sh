#!/bin/sh
# deb.sh BINARY [OUTDIR]: builds the Debian package fedgate_VERSION_ARCH.deb
# into OUTDIR (default dist/) with dpkg-deb alone, from BINARY (the default
# build of //gateway:fedgate) and tools/install.sh's tree for PREFIX=/usr:
# /usr/sbin/fedgate (stripped), /lib/systemd/system/fedgate.service,
# /etc/fedgate/fedgate.yaml (a conffile), /usr/lib/fedgate/fedgate-setup,
# /usr/share/fedgate/contrib/, /usr/share/doc/fedgate/ and the maintainer
# scripts of packaging/debian/. VERSION is what `BINARY --version` says;
# Depends comes from the binary's shared libraries (dpkg-shlibdeps, or the
# packages owning what ldd finds) plus adduser. The last line printed is the
# path of the .deb.
set -eu
[ $# -ge 1 ] && [ -x "$1" ] || {
  echo "usage: deb.sh BINARY [OUTDIR] (got '$*')" >&2
  exit 2
}
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$1")
out=${2:-$src/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$("$bin" --version | sed -n '1s/^fedgate \([0-9][0-9A-Za-z.+~-]*\)$/\1/p')
[ -n "$version" ] || {
  echo "deb.sh: no version in the first line of '$bin --version'" >&2
  exit 1
}
arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedgate-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022

DESTDIR=$root PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system \
  DOCDIR=/usr/share/doc/fedgate sh "$src/tools/install.sh" "$bin" >/dev/null
# As dh_strip would: no debug sections or notes in the shipped binary.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/fedgate"

doc=$root/usr/share/doc/fedgate
install -m 0644 "$src/packaging/debian/copyright" "$doc/copyright"
install -d -m 0755 "$root/usr/share/lintian/overrides"
install -m 0644 "$src/packaging/debian/lintian-overrides" "$root/usr/share/lintian/overrides/fedgate"
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
date=$(date -R -d "@$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)")
printf 'fedgate (%s) unstable; urgency=medium\n\n  * Built from the fedgate source tree at %s.\n\n -- fedgate developers <dev@fedgate.invalid>  %s\n' \
  "$version" "$commit" "$date" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# depends: the packages (with minimum versions) of the binary's libraries.
depends() {
  if command -v dpkg-shlibdeps >/dev/null; then
    mkdir -p "$work/debian"
    printf 'Source: fedgate\n\nPackage: fedgate\nArchitecture: %s\n' "$arch" >"$work/debian/control"
    (cd "$work" && dpkg-shlibdeps -O root/usr/sbin/fedgate 2>"$work/shlibdeps.err") |
      sed -n 's/^shlibs:Depends=//p'
    return
  fi
  # Without dpkg-dev: the package owning each library the loader resolves.
  ldd "$root/usr/sbin/fedgate" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
    while read -r lib; do
      p=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null) || continue
      p=${p%%:*}
      echo "$p (>= $(dpkg-query -W -f='${Version}' "$p" | sed 's/-[^-]*$//'))"
    done | sort -u | paste -sd, - | sed 's/,/, /g'
}
shlibs=$(depends)
[ -n "$shlibs" ] || {
  echo "deb.sh: found no library dependencies of $bin" >&2
  cat "$work/shlibdeps.err" >&2 2>/dev/null || true
  exit 1
}

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@DEPENDS@/$shlibs, adduser/" "$src/packaging/debian/control.in" >"$root/DEBIAN/control"
echo /etc/fedgate/fedgate.yaml >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$src/packaging/debian/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print |
  sed 's#^\./##' | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/fedgate_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
