#!/bin/sh
# ticket_keys_cli_test.sh: `fedgate ticket-keys new|rotate FILE [--keep N]`,
# the real binary: the file it writes (mode 0600 whatever the umask, one
# base64 key per line, replaced by rename), usage errors (exit 2) and
# refusals (exit 1) that leave the file as it was, and eight rotations run
# as processes at once, each of which keeps its key.
fedgate=${1:-gateway/fedgate}
fedgate=$(cd "$(dirname "$fedgate")" && pwd)/$(basename "$fedgate")
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tkcli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0
fail=0
check() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}
keys() { grep -cv '^#' "$1"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
others() { find . -mindepth 1 ! -name "$1" | grep -c .; }

umask 000
out=$("$fedgate" ticket-keys new t.keys); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q '^t.keys: 1 key; the newest (name [0-9a-f]\{8\}\.\.\.) encrypts' &&
  check ok || check no "new: rc=$rc $out"
[ "$(stat -c %a t.keys)" = 600 ] && check ok || check no "new under umask 000: mode $(stat -c %a t.keys)"
[ "$(keys t.keys)" = 1 ] && check ok || check no "new: one key line"
grep -v '^#' t.keys | grep -Eq '^[A-Za-z0-9+/]{106}==?$|^[A-Za-z0-9+/]{107}=$' && check ok ||
  check no "new: a key is base64 of 80 bytes"
before=$(sum t.keys)
err=$("$fedgate" ticket-keys new t.keys 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "t.keys: exists already" && [ "$(sum t.keys)" = "$before" ] &&
  check ok || check no "new on an existing file: rc=$rc $err"

ino=$(stat -c %i t.keys)
out=$("$fedgate" ticket-keys rotate t.keys); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q '^t.keys: 2 keys;' && check ok || check no "rotate: rc=$rc $out"
[ "$(stat -c %i t.keys)" != "$ino" ] && [ "$(stat -c %a t.keys)" = 600 ] && check ok ||
  check no "rotate replaces the file (new inode, 0600)"
old_first=$(grep -v '^#' t.keys | head -1)
for k in 0 17 x -1 ''; do
  before=$(sum t.keys)
  err=$("$fedgate" ticket-keys rotate t.keys --keep "$k" 2>&1); rc=$?
  [ $rc = 2 ] && echo "$err" | grep -q -- "--keep '$k': a number from 1 to 16" &&
    [ "$(sum t.keys)" = "$before" ] && check ok || check no "--keep '$k': rc=$rc $err"
done
err=$("$fedgate" ticket-keys rotate t.keys --keep 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q -- "--keep needs a number" && check ok || check no "--keep alone: rc=$rc"
for i in 1 2 3; do "$fedgate" ticket-keys rotate t.keys >/dev/null || check no "rotate $i"; done
[ "$(keys t.keys)" = 3 ] && check ok || check no "rotate keeps 3 by default: $(keys t.keys)"
grep -qx "$old_first" t.keys && check no "the oldest key was not retired" || check ok
last=$(grep -v '^#' t.keys | tail -1)
"$fedgate" ticket-keys rotate t.keys --keep 2 >/dev/null
[ "$(keys t.keys)" = 2 ] && [ "$(grep -v '^#' t.keys | head -1)" = "$last" ] && check ok ||
  check no "--keep 2: the previous newest key first"

# Refusals leave the file as it was, and no temporary file.
printf '# broken\nnot-a-key\n' > bad.keys
before=$(sum bad.keys)
err=$("$fedgate" ticket-keys rotate bad.keys 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "bad.keys: line 2: a key is base64 of 80 bytes" &&
  [ "$(sum bad.keys)" = "$before" ] && check ok || check no "rotate a corrupt file: rc=$rc $err"
: > empty.keys
err=$("$fedgate" ticket-keys rotate empty.keys 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "empty.keys: no key" && [ ! -s empty.keys ] && check ok ||
  check no "rotate an empty file: rc=$rc $err"
err=$("$fedgate" ticket-keys rotate missing.keys 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "missing.keys: cannot open: No such file" && [ ! -e missing.keys ] &&
  check ok || check no "rotate a missing file: rc=$rc $err"
rm -f bad.keys empty.keys
[ "$(others t.keys)" = 0 ] && check ok || check no "files left beside the key file: $(ls -A)"

# Eight processes rotating at once: each adds its key (--keep 16).
"$fedgate" ticket-keys rotate t.keys --keep 1 >/dev/null
pids=
for i in 1 2 3 4 5 6 7 8; do
  "$fedgate" ticket-keys rotate t.keys --keep 16 >/dev/null &
  pids="$pids $!"
done
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
[ $failed = 0 ] && [ "$(keys t.keys)" = 9 ] && check ok ||
  check no "8 rotations at once: $failed failed, $(keys t.keys) keys (want 9)"
[ "$(others t.keys)" = 0 ] && check ok || check no "files left after concurrent rotations: $(ls -A)"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
