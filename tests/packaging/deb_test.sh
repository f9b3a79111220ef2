#!/bin/sh
# deb_test.sh: the Debian package and `make install`'s tree, for real.
# Builds the package with tools/deb.sh from the fedgate binary under test,
# checks its control data and contents, installs it on this machine with
# dpkg -i (the maintainer scripts need the real root: adduser, chown to the
# new user), runs the installed /usr/sbin/fedgate --version and check-config
# of the installed configuration (as root and as the fedgate user), checks
# the user, the generated secret and CA and their modes, verifies the unit
# with systemd-analyze, reinstalls (nothing generated changes), removes
# (configuration, secret, state and user stay) and purges (nothing stays).
# Then tools/install.sh into a DESTDIR as `make install` runs it.
#
# Usage: deb_test.sh FEDGATE CHECKOUT/.bazelrc (runfiles). Needs root and
# dpkg; refuses to touch a machine where a fedgate package is installed
# already (skipped cases). Leaves no trace: the trap purges the package.
set -u
fedgate=$(readlink -f "${1:?usage: deb_test.sh FEDGATE CHECKOUT/.bazelrc}")
src=$(dirname "$(readlink -f "${2:?usage: deb_test.sh FEDGATE CHECKOUT/.bazelrc}")")
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/deb_test.XXXXXX")
pass=0
fail=0
skip=0
installed_by_us=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
skipped() { skip=$((skip + 1)); echo "skip $1"; }
summary() {
  echo "$pass passed, $fail failed, $skip skipped"
  [ "$fail" = 0 ]
  exit $?
}
cleanup() {
  if [ "$installed_by_us" = 1 ] && dpkg-query -W -f='${Status}' fedgate 2>/dev/null | grep -q .; then
    dpkg_run --purge fedgate >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# dpkg_run ARGS...: dpkg, waiting while another dpkg or apt holds its lock
# (other sessions may install packages on this machine).
dpkg_run() {
  tries=0
  while :; do
    dpkg "$@" >"$work/dpkg.log" 2>&1 && return 0
    rc=$?
    grep -q 'lock' "$work/dpkg.log" && [ $tries -lt 150 ] || {
      cat "$work/dpkg.log"
      return $rc
    }
    tries=$((tries + 1))
    sleep 2
  done
}

# expect_mode NAME PATH MODE OWNER:GROUP
expect_mode() {
  got=$(stat -c '%a %U:%G' "$2" 2>&1)
  if [ "$got" = "$3 $4" ]; then ok "$1: $3 $4"; else bad "$1: $2 is '$got', want '$3 $4'"; fi
}

version=$("$fedgate" --version | sed -n '1s/^fedgate //p')

# --- make install's tree (tools/install.sh into a DESTDIR) ---------------
dest=$work/destdir
if DESTDIR=$dest sh "$src/tools/install.sh" "$fedgate" >"$work/install.log" 2>&1; then
  ok "install.sh into DESTDIR, PREFIX=/usr/local"
else
  bad "install.sh: $(cat "$work/install.log")"
fi
for f in usr/local/sbin/fedgate usr/local/lib/systemd/system/fedgate.service etc/fedgate/fedgate.yaml \
  usr/local/lib/fedgate/fedgate-setup usr/local/share/fedgate/contrib/prosody/mod_fedgate_route.lua \
  usr/local/share/fedgate/contrib/ejabberd/ejabberd.yml usr/local/share/doc/fedgate/README.md \
  usr/local/share/doc/fedgate/docs/operations.md usr/local/share/doc/fedgate/examples/fedgate.yaml; do
  if [ -s "$dest/$f" ]; then ok "make install: /$f"; else bad "make install: no /$f"; fi
done
if find "$dest" -name BUILD.bazel | grep -q .; then bad "BUILD.bazel files installed"; else ok "no Bazel files installed"; fi
if grep -q '^ExecStart=/usr/local/sbin/fedgate run --config /etc/fedgate/fedgate.yaml' \
  "$dest/usr/local/lib/systemd/system/fedgate.service"; then
  ok "make install: the unit runs /usr/local/sbin/fedgate"
else
  bad "make install: unit ExecStart: $(grep ExecStart "$dest/usr/local/lib/systemd/system/fedgate.service")"
fi
echo "# the operator's" >"$dest/etc/fedgate/fedgate.yaml"
DESTDIR=$dest sh "$src/tools/install.sh" "$fedgate" >/dev/null 2>&1
if [ "$(cat "$dest/etc/fedgate/fedgate.yaml")" = "# the operator's" ]; then
  ok "make install again keeps an existing configuration"
else
  bad "make install replaced the configuration"
fi

# --- the package ------------------------------------------------------------
if sh "$src/tools/deb.sh" "$fedgate" "$work/dist" >"$work/deb.log" 2>&1; then
  deb=$(tail -n 1 "$work/deb.log")
  if [ -f "$deb" ] && [ "$deb" = "$work/dist/fedgate_${version}_$(dpkg --print-architecture).deb" ]; then
    ok "deb.sh: last line is the package's path ($(basename "$deb"))"
  else
    bad "deb.sh: last line '$deb'"
  fi
else
  bad "deb.sh failed: $(cat "$work/deb.log")"
  summary
fi

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = fedgate ] && ok "control: Package fedgate" || bad "control: Package $(field Package)"
[ "$(field Version)" = "$version" ] && ok "control: Version $version (fedgate --version)" ||
  bad "control: Version '$(field Version)', binary says '$version'"
depends=$(field Depends)
for p in android-libboringssl libcyaml1 libyaml-0-2 liburing2 libidn2-0 libxxhash0 libjemalloc2 libc6 adduser; do
  case ", $depends," in
    *", $p "* | *", $p,"*) ok "Depends: $p" ;;
    *) bad "Depends lacks $p: $depends" ;;
  esac
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$work/conffiles"
[ "$(cat "$work/conffiles")" = /etc/fedgate/fedgate.yaml ] && ok "conffiles: /etc/fedgate/fedgate.yaml" ||
  bad "conffiles: $(cat "$work/conffiles")"
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$work/contents"
for want in "-rwxr-xr-x root/root ./usr/sbin/fedgate" "-rw-r--r-- root/root ./lib/systemd/system/fedgate.service" \
  "-rw-r--r-- root/root ./usr/share/fedgate/contrib/prosody/mod_fedgate_route.lua" \
  "-rw-r--r-- root/root ./usr/share/fedgate/contrib/ejabberd/ejabberd.yml" \
  "-rw-r--r-- root/root ./usr/share/doc/fedgate/copyright" "-rw-r--r-- root/root ./usr/share/doc/fedgate/changelog.gz"; do
  if grep -qxF -- "$want" "$work/contents"; then ok "contents: $want"; else bad "contents lack: $want"; fi
done
dpkg-deb -x "$deb" "$work/x"
if readelf -S "$work/x/usr/sbin/fedgate" | grep -qE '\.(symtab|debug_info)( |$)'; then
  bad "binary not stripped: $(readelf -S "$work/x/usr/sbin/fedgate" | grep -oE '\.(symtab|debug_[a-z]+)' | tr '\n' ' ')"
else
  ok "binary stripped (no .symtab, no .debug_info)"
fi

# --- installed on this machine ---------------------------------------------
if [ "$(id -u)" != 0 ]; then
  skipped "install, upgrade, remove and purge need root"
  summary
fi
# One run at a time on this machine: another checkout's run would purge the
# package under this one's feet.
lock=/run/lock/fedgate-deb-test.lock
[ -d /run/lock ] || lock=/tmp/fedgate-deb-test.lock
exec 9>"$lock"
if ! flock -w 600 9; then
  bad "another deb_test held $lock for 10 minutes"
  summary
fi
if dpkg-query -W -f='${Status}' fedgate 2>/dev/null | grep -q 'installed'; then
  skipped "a fedgate package is installed on this machine already: not touching it"
  summary
fi
if getent passwd fedgate >/dev/null || [ -e /etc/fedgate ] || [ -e /var/lib/fedgate ]; then
  skipped "a fedgate user, /etc/fedgate or /var/lib/fedgate exists without the package: not touching it"
  summary
fi
installed_by_us=1
if dpkg_run -i "$deb"; then ok "dpkg -i"; else bad "dpkg -i"; summary; fi

out=$(/usr/sbin/fedgate --version 2>&1)
case "$out" in "fedgate $version"*) ok "/usr/sbin/fedgate --version: fedgate $version" ;; *) bad "--version: $out" ;; esac
if out=$(/usr/sbin/fedgate check-config /etc/fedgate/fedgate.yaml 2>&1) && echo "$out" | grep -q '^config ok:'; then
  ok "check-config /etc/fedgate/fedgate.yaml as installed"
else
  bad "check-config as installed: $out"
fi
if out=$(runuser -u fedgate -- /usr/sbin/fedgate check-config /etc/fedgate/fedgate.yaml 2>&1) &&
  echo "$out" | grep -q '^config ok:'; then
  ok "check-config as the fedgate user (it reads every key and secret it needs)"
else
  bad "check-config as fedgate: $out"
fi
passwd=$(getent passwd fedgate)
uid=$(echo "$passwd" | cut -d: -f3)
if [ -n "$passwd" ] && [ "$uid" -lt 1000 ] && [ "$(echo "$passwd" | cut -d: -f7)" = /usr/sbin/nologin ]; then
  ok "system user fedgate (uid $uid, no login shell)"
else
  bad "user fedgate: '$passwd'"
fi
getent group fedgate >/dev/null && ok "group fedgate" || bad "no group fedgate"
[ "$(id -gn fedgate 2>/dev/null)" = fedgate ] && ok "fedgate's primary group is fedgate" || bad "primary group $(id -gn fedgate)"
expect_mode "configuration" /etc/fedgate/fedgate.yaml 644 root:root
expect_mode "dialback secret" /etc/fedgate/dialback.secret 640 root:fedgate
expect_mode "internal CA key" /etc/fedgate/internal-ca/ca.key 640 root:fedgate
expect_mode "internal CA directory" /etc/fedgate/internal-ca 750 root:fedgate
expect_mode "placeholder key" /etc/fedgate/pki/example.com.key 640 root:fedgate
expect_mode "state directory" /var/lib/fedgate 750 fedgate:fedgate
expect_mode "stapling state directory" /var/lib/fedgate/ocsp 750 fedgate:fedgate
if grep -qxE '[0-9a-f]{64}' /etc/fedgate/dialback.secret; then ok "dialback secret: 32 random bytes in hex"; else bad "dialback secret content"; fi
if out=$(/usr/sbin/fedgate check-cert --cert /etc/fedgate/pki/example.com.crt --ca /etc/fedgate/pki/ca.crt \
  --domain example.com 2>&1); then
  ok "the placeholder certificate checks out against its CA"
else
  bad "placeholder certificate: $out"
fi
unit=/lib/systemd/system/fedgate.service
if grep -q '^ExecStart=/usr/sbin/fedgate run --config /etc/fedgate/fedgate.yaml' "$unit" &&
  ! grep -q /usr/local "$unit"; then
  ok "unit runs /usr/sbin/fedgate with /etc/fedgate/fedgate.yaml"
else
  bad "unit: $(grep -E 'Exec' "$unit")"
fi
if command -v systemd-analyze >/dev/null; then
  if out=$(systemd-analyze verify "$unit" 2>&1); then ok "systemd-analyze verify $unit"; else bad "systemd-analyze verify: $out"; fi
else
  skipped "systemd-analyze is not installed"
fi

cp /etc/fedgate/dialback.secret "$work/secret" && cp /etc/fedgate/internal-ca/ca.key "$work/ca.key"
if dpkg_run -i "$deb"; then ok "dpkg -i again (upgrade path)"; else bad "dpkg -i again"; fi
if cmp -s /etc/fedgate/dialback.secret "$work/secret" && cmp -s /etc/fedgate/internal-ca/ca.key "$work/ca.key"; then
  ok "reinstall keeps the secret and the internal CA"
else
  bad "reinstall replaced the secret or the internal CA"
fi

if dpkg_run -r fedgate; then ok "dpkg -r"; else bad "dpkg -r"; fi
[ ! -e /usr/sbin/fedgate ] && ok "remove: binary gone" || bad "remove: /usr/sbin/fedgate still there"
if [ -f /etc/fedgate/fedgate.yaml ] && cmp -s /etc/fedgate/dialback.secret "$work/secret" &&
  [ -d /var/lib/fedgate ] && getent passwd fedgate >/dev/null; then
  ok "remove keeps configuration, secret, state and user"
else
  bad "remove took configuration, secret, state or user"
fi

if dpkg_run --purge fedgate; then ok "dpkg --purge"; else bad "dpkg --purge"; fi
left=""
for p in /etc/fedgate /var/lib/fedgate /usr/share/fedgate /usr/lib/fedgate /usr/share/doc/fedgate "$unit"; do
  [ -e "$p" ] && left="$left $p"
done
getent passwd fedgate >/dev/null && left="$left user:fedgate"
getent group fedgate >/dev/null && left="$left group:fedgate"
dpkg-query -W -f='${Status}' fedgate 2>/dev/null | grep -q . && left="$left dpkg-status"
[ -z "$left" ] && ok "purge leaves no trace" || bad "purge left:$left"
installed_by_us=0
summary
