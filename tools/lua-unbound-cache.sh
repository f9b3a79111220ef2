#!/bin/sh
# tools/lua-unbound-cache.sh: makes Debian's lua-unbound (Prosody's libunbound
# resolver, which its DANE needs) available to one test's Prosody without
# installing it. Installed system-wide it would switch every Prosody on the
# machine to libunbound, which answers NXDOMAIN for *.test by itself and
# breaks the suites that resolve through /etc/resolv.conf.
#
#   1. `apt-get download lua-unbound` and `dpkg-deb -x` it into the cache
#      (never installed); libunbound8, which it links, the same way when the
#      system does not have it;
#   2. checks that lunbound.so loads in the Lua that runs Prosody;
#   3. prints, one per line, the shell assignments a test puts in Prosody's
#      environment:
#        LUA_CPATH=<cache>/.../lua/5.4/?.so;;
#        LD_LIBRARY_PATH=<cache>/.../lib   (only when libunbound8 was unpacked)
#
# Idempotent: a complete cache (its "ok" file) is reused without apt.
# Exit 0 with the lines above, 77 when lua-unbound cannot be had here (no
# package, no apt metadata, no Lua), 1 on anything else.
#
# Environment: FEDGATE_LUA_UNBOUND_CACHE (default /var/cache/fedgate/lua-unbound,
# or $HOME/.cache/fedgate/lua-unbound when /var/cache is not writable).
set -u

skip() {
  echo "lua-unbound-cache: cannot have lua-unbound here: $*" >&2
  exit 77
}

if [ -n "${FEDGATE_LUA_UNBOUND_CACHE-}" ]; then
  cache=$FEDGATE_LUA_UNBOUND_CACHE
elif mkdir -p /var/cache/fedgate 2>/dev/null && [ -w /var/cache/fedgate ]; then
  cache=/var/cache/fedgate/lua-unbound
else
  cache=${HOME:-/tmp}/.cache/fedgate/lua-unbound
fi

# The Lua that runs Prosody: the interpreter its launcher names.
lua=$(sed -n '1s|^#! *\(/usr/bin/env  *\)\{0,1\}\([^ ]*\).*|\2|p' /usr/bin/prosody 2>/dev/null)
[ -n "$lua" ] || skip "/usr/bin/prosody not found (is prosody installed?)"
command -v "$lua" >/dev/null 2>&1 || skip "$lua (Prosody's Lua) not found"
luaver=$("$lua" -e 'print((_VERSION:gsub("Lua ", "")))') || skip "$lua does not run"

# download PACKAGE: the .deb of PACKAGE unpacked under $cache/root.
download() {
  (cd "$cache/deb" && apt-get download "$1" >/dev/null 2>&1) ||
    (cd "$cache/deb" && apt-get update >/dev/null 2>&1 &&
      apt-get download "$1" >/dev/null 2>&1) ||
    skip "apt-get download $1 failed"
  deb=$(ls "$cache/deb/$1"_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || skip "apt-get download $1 left no .deb"
  dpkg-deb -x "$deb" "$cache/root" || { echo "dpkg-deb -x $deb failed" >&2; exit 1; }
}

if ! [ -f "$cache/ok" ]; then
  rm -rf "$cache"
  mkdir -p "$cache/deb" "$cache/root" 2>/dev/null || skip "cannot create $cache"
  download lua-unbound
  if ! dpkg-query -W -f '${Status}' libunbound8 2>/dev/null | grep -q 'ok installed'; then
    download libunbound8
    touch "$cache/with-libunbound"
  fi
  touch "$cache/ok"
fi

so=$(find "$cache/root" -path "*/lua/$luaver/lunbound.so" | head -1)
[ -n "$so" ] || skip "lua-unbound has no lunbound.so for Lua $luaver"
cpath="$(dirname "$so")/?.so;;"
libpath=""
if [ -f "$cache/with-libunbound" ]; then
  libpath=$(dirname "$(find "$cache/root" -name 'libunbound.so.8*' | head -1)")
fi
LUA_CPATH=$cpath LD_LIBRARY_PATH=$libpath "$lua" -e 'require "lunbound"' >/dev/null 2>&1 ||
  { rm -f "$cache/ok"; echo "lunbound.so from $cache does not load in $lua" >&2; exit 1; }
echo "LUA_CPATH=$cpath"
if [ -n "$libpath" ]; then echo "LD_LIBRARY_PATH=$libpath"; fi
