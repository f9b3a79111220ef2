#!/bin/sh
# install.sh BINARY: installs fedgate under $DESTDIR (`make install`, and the
# tree tools/deb.sh packs):
#   PREFIX/sbin/fedgate                    BINARY
#   PREFIX/lib/fedgate/fedgate-setup       user, state dir, secret, CAs (run once as root)
#   UNITDIR/fedgate.service                contrib/systemd's unit, paths set to these
#   SYSCONFDIR/fedgate/fedgate.yaml        packaging/fedgate.yaml, only when absent
#   PREFIX/share/fedgate/contrib/          contrib/ (Prosody, ejabberd, certbot, ...)
#   DOCDIR/README.md, docs/, examples/     the documentation and example configurations
# Environment: PREFIX (/usr/local), DESTDIR (empty), SYSCONFDIR (/etc),
# UNITDIR (PREFIX/lib/systemd/system), DOCDIR (PREFIX/share/doc/fedgate).
set -eu
[ $# = 1 ] && [ -f "$1" ] || {
  echo "usage: install.sh BINARY (got '$*')" >&2
  exit 2
}
bin=$1
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
sysconfdir=${SYSCONFDIR:-/etc}
unitdir=${UNITDIR:-$prefix/lib/systemd/system}
docdir=${DOCDIR:-$prefix/share/doc/fedgate}
datadir=$prefix/share/fedgate

# put MODE FILE DIR: installs FILE into $dest/DIR/ with MODE.
put() {
  install -d -m 0755 "$dest$3"
  install -m "$1" "$2" "$dest$3/"
}
# tree FROM DIR: every file under FROM (Bazel files excepted) into $dest/DIR,
# executables 0755, the rest 0644.
tree() {
  (cd "$src/$1" && find . -type f ! -name BUILD.bazel ! -name '*.pyc' | LC_ALL=C sort) |
    while read -r f; do
      mode=0644
      [ -x "$src/$1/$f" ] && mode=0755
      put "$mode" "$src/$1/$f" "$2/$(dirname "$f")"
    done
}

put 0755 "$bin" "$prefix/sbin"
[ "$(basename "$bin")" = fedgate ] || mv "$dest$prefix/sbin/$(basename "$bin")" "$dest$prefix/sbin/fedgate"
put 0755 "$src/packaging/fedgate-setup" "$prefix/lib/fedgate"

# The unit names the binary and the configuration where this install puts
# them, whatever paths contrib/systemd/fedgate.service was written with.
install -d -m 0755 "$dest$unitdir"
sed -e "s#/usr\(/local\)\{0,1\}/s\{0,1\}bin/fedgate#$prefix/sbin/fedgate#g" \
  -e "s#/etc/fedgate/#$sysconfdir/fedgate/#g" \
  "$src/contrib/systemd/fedgate.service" >"$dest$unitdir/fedgate.service"
chmod 0644 "$dest$unitdir/fedgate.service"

conf=$dest$sysconfdir/fedgate/fedgate.yaml
if [ -e "$conf" ]; then
  echo "install.sh: $conf exists, left as it is"
else
  put 0644 "$src/packaging/fedgate.yaml" "$sysconfdir/fedgate"
fi

tree contrib "$datadir/contrib"
put 0644 "$src/README.md" "$docdir"
tree docs "$docdir/docs"
tree examples "$docdir/examples"
