#!/bin/sh
# tools/ktls-vm/run.sh [BAZEL_FLAGS...]: proves the kTLS path in a qemu guest
# running Debian's own kernel (which has the `tls` module this host lacks).
#
#   1. qemu-system-x86 and busybox-static: installed with apt when missing;
#   2. the kernel package linux-image-amd64 depends on: `apt-get download`,
#      `dpkg-deb -x` into the cache (never installed);
#   3. Bazel builds //tests/io:ktls_test (with BAZEL_FLAGS) and, in the
#      default configuration (-O2, as the tests), //bench:tls_bench;
#   4. an initramfs: a cached base (busybox, /init, the five modules) plus this
#      run's binaries and every shared library ldd names, at their usual paths
#      (Bazel's own .so files under /opt/fedgate/lib);
#   5. qemu -accel tcg, bounded by `timeout`; the verdict is read from the
#      console (qemu exits 0 whatever happens inside).
#
# Prints the evidence lines ([ktls] ..., KTLS-VM ...) and ends with
# "N passed, M failed, K skipped" and "N passed, M failed" counting the
# in-guest test cases (the guest's KTLS-VM-VERDICT line). Exit 0 all passed,
# 1 something failed (or no verdict), 77 only when qemu or the kernel package
# cannot be had.
#
# Environment: BAZEL (default "bazel"), FEDGATE_KTLS_CACHE (default
# $HOME/.cache/fedgate-ktls), FEDGATE_KTLS_TIMEOUT (qemu wall-clock limit,
# default 300 s), FEDGATE_KTLS_KEEP=1 (keep the initramfs tree of this run).
# See docs/ktls-vm.md.
set -u
cd "$(dirname "$0")/../.."
repo=$(pwd)
bazel=${BAZEL:-bazel}
cache=${FEDGATE_KTLS_CACHE:-${HOME:-/root}/.cache/fedgate-ktls}
limit=${FEDGATE_KTLS_TIMEOUT:-300}
t_start=$(date +%s)

skip() {
  echo "ktls-vm: SKIP: $*"
  echo "0 passed, 0 failed"
  exit 77
}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi

# --- 1. qemu and busybox -------------------------------------------------------
need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
# busybox-static's binary must be static: it runs in the guest without a loader.
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need="$need busybox-static"; fi
if [ -n "$need" ]; then
  echo "ktls-vm: installing:$need"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $need \
    >/tmp/ktls-vm-apt.$$ 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive $SUDO apt-get update >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $need \
        >/tmp/ktls-vm-apt.$$ 2>&1; } ||
    { tail -3 /tmp/ktls-vm-apt.$$; rm -f /tmp/ktls-vm-apt.$$; skip "cannot install$need"; }
  rm -f /tmp/ktls-vm-apt.$$
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not available"
[ -x /bin/busybox ] || skip "/bin/busybox (busybox-static) not available"

# --- 2. the kernel ---------------------------------------------------------------
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
  # No apt metadata: use the newest kernel already in the cache, if any.
  pkg=$(ls -d "$cache"/linux-image-*/ 2>/dev/null | sort -V | tail -1 | xargs -r basename)
  [ -n "$pkg" ] || skip "cannot resolve linux-image-amd64 (apt-cache depends) and nothing cached"
fi
kver=${pkg#linux-image-}
kdir="$cache/$pkg"
# kTLS needs the first five modules; the AES-NI/PCLMUL ones only give the
# kernel's AES-GCM the same instructions BoringSSL uses, for the benchmark.
required="gf128mul ghash-generic ctr gcm tls"
optional="cryptd crypto_simd aesni-intel ghash-clmulni-intel"
if ! [ -f "$kdir/ok" ] || ! [ -s "$kdir/vmlinuz" ]; then
  echo "ktls-vm: fetching $pkg"
  rm -rf "$kdir"
  mkdir -p "$kdir/deb" "$kdir/modules" || skip "cannot create $kdir"
  (cd "$kdir/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
    (cd "$kdir/deb" && $SUDO apt-get update >/dev/null 2>&1 && apt-get download "$pkg" >/dev/null 2>&1) ||
    { rm -rf "$kdir"; skip "apt-get download $pkg failed"; }
  dpkg-deb -x "$kdir"/deb/*.deb "$kdir/root" || { rm -rf "$kdir"; skip "dpkg-deb -x $pkg failed"; }
  # Keep only what the guest needs (the unpacked package is ~400 MB).
  cp "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinuz" 2>/dev/null
  for name in $required $optional; do
    src=$(find "$kdir/root/lib/modules/$kver/kernel" -name "$name.ko*" | head -1)
    case "$src" in
      "") ;;
      *.xz) xz -dc "$src" >"$kdir/modules/$name.ko" ;;
      *.zst) zstd -dcq "$src" >"$kdir/modules/$name.ko" ;;
      *) cp "$src" "$kdir/modules/$name.ko" ;;
    esac
  done
  rm -rf "$kdir/root" "$kdir/deb"
  missing=""
  [ -s "$kdir/vmlinuz" ] || missing="vmlinuz"
  for name in $required; do [ -s "$kdir/modules/$name.ko" ] || missing="$missing $name.ko"; done
  if [ -n "$missing" ]; then
    rm -rf "$kdir"
    echo "ktls-vm: $pkg lacks:$missing"
    echo "0 passed, 1 failed"
    exit 1
  fi
  touch "$kdir/ok"
  # Older kernels' files are of no further use.
  for old in "$cache"/linux-image-* "$cache"/base-*.cpio.gz; do
    case "$old" in "$kdir" | "$cache/base-$kver.cpio.gz") ;; *) rm -rf "$old" ;; esac
  done
fi
vmlinuz="$kdir/vmlinuz"

# --- 3. the binaries ---------------------------------------------------------------
echo "ktls-vm: bazel build $* //tests/io:ktls_test; bazel build //bench:tls_bench"
$bazel build "$@" //tests/io:ktls_test >/tmp/ktls-vm-build.$$ 2>&1 &&
  $bazel build //bench:tls_bench >>/tmp/ktls-vm-build.$$ 2>&1 ||
  { tail -20 /tmp/ktls-vm-build.$$; rm -f /tmp/ktls-vm-build.$$; echo "0 passed, 1 failed"; exit 1; }
rm -f /tmp/ktls-vm-build.$$
test_bin="$($bazel info "$@" bazel-bin 2>/dev/null)/tests/io/ktls_test"
bench_bin="$($bazel info bazel-bin 2>/dev/null)/bench/tls_bench"
[ -x "$test_bin" ] && [ -x "$bench_bin" ] || { echo "ktls-vm: built binaries not found"; echo "0 passed, 1 failed"; exit 1; }

# --- 4. the initramfs ---------------------------------------------------------------
base="$cache/base-$kver.cpio.gz"
if ! [ -f "$base" ] || [ "$repo/tools/ktls-vm/init" -nt "$base" ] || [ "$kdir/ok" -nt "$base" ]; then
  echo "ktls-vm: building the base initramfs for $kver"
  tree=$(mktemp -d /tmp/ktls-vm-base.XXXXXX)
  mkdir -p "$tree/bin" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/tmp" "$tree/opt/fedgate/modules"
  cp /bin/busybox "$tree/bin/busybox"
  cp "$repo/tools/ktls-vm/init" "$tree/init"
  chmod 755 "$tree/init"
  cp "$kdir"/modules/*.ko "$tree/opt/fedgate/modules/"
  (cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$base.tmp" && mv "$base.tmp" "$base"
  rm -rf "$tree"
fi

work=$(mktemp -d /tmp/ktls-vm.XXXXXX)
tree="$work/tree"
mkdir -p "$tree/opt/fedgate/lib"
cp "$test_bin" "$tree/opt/fedgate/ktls_test"
cp "$bench_bin" "$tree/opt/fedgate/tls_bench"
for bin in "$test_bin" "$bench_bin"; do
  ldd "$bin" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'
done | sort -u | while read -r lib; do
  case "$lib" in
    /lib/* | /lib64/* | /usr/*) dst="$tree$lib" ;;            # system libraries: usual paths
    *) dst="$tree/opt/fedgate/lib/$(basename "$lib")" ;;      # Bazel's own .so files
  esac
  mkdir -p "$(dirname "$dst")"
  cp -L "$lib" "$dst"
done
(cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$work/run.cpio.gz"
cat "$base" "$work/run.cpio.gz" >"$work/initrd"
t_built=$(date +%s)

# --- 5. boot ---------------------------------------------------------------------------
log="$cache/last-console.log"
echo "ktls-vm: booting $pkg under qemu (tcg, limit ${limit}s); console log: $log"
# qemu runs in the background so that an interrupted run takes it down too.
timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -no-reboot \
  -nic none -kernel "$vmlinuz" -initrd "$work/initrd" -append 'console=ttyS0 panic=-1' \
  </dev/null >"$log" 2>&1 &
qpid=$!
trap 'kill "$qpid" 2>/dev/null; rm -rf "$work"; exit 1' INT TERM HUP
wait "$qpid"
qrc=$?
trap - INT TERM HUP
t_end=$(date +%s)
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

if [ "${FEDGATE_KTLS_KEEP:-0}" = 1 ]; then
  echo "ktls-vm: kept $work (tree/, initrd)"
else
  rm -rf "$work"
fi

# The evidence: handshakes, handoffs, KeyUpdate, fallback control, bench.
grep -E '^KTLS-VM|\[ktls\]|\[  (FAILED|ERROR|  LINE)' "$log" |
  grep -vE 'KTLS-VM-LOG [a-z]+\| \[ *(RUN|OK) ' | sed 's/^KTLS-VM-LOG //'
verdict=$(sed -n 's/^KTLS-VM-VERDICT: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log" | tail -1)
echo "ktls-vm: qemu exit $qrc; build+initramfs $((t_built - t_start)) s, boot+run $((t_end - t_built)) s"
if [ -z "$verdict" ]; then
  echo "ktls-vm: no verdict on the console (timeout or crash): see $log"
  tail -15 "$log" | sed 's/^/  console| /'
  echo "0 passed, 1 failed"
  exit 1
fi
set -- $verdict
p=$1 f=$2 k=$3
echo "$p passed, $f failed, $k skipped"
echo "$p passed, $f failed"
[ "$f" = 0 ] && [ "$p" -gt 0 ]
