#!/bin/sh
# any_dir_test.sh: Bazel works in a checkout whatever its directory is called.
# Copies the checkout (its files as they are, tracked and new) into a
# directory named x-any-name beside a link to ../shared, builds one test
# there with one output base, and runs `bazel query //...` with that output
# base and with another. Bazel skips only the links into the output base in
# use, so a convenience link to another one named after the directory
# (bazel-x-any-name) would make //... load Bazel's own packages: .bazelrc puts
# the links under .bazel/ and .bazelignore names it.
#
# Usage: any_dir_test.sh PATH_TO_CHECKOUT_BAZELRC (a runfile of //:.bazelrc).
set -u
rc_file=${1:?usage: any_dir_test.sh CHECKOUT/.bazelrc}
src=$(dirname "$(readlink -f "$rc_file")")
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/any_dir.XXXXXX")
bazel=${BAZEL:-bazel}
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
cleanup() {
  # --batch leaves no server behind; the output bases are the test's own.
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ ! -f "$src/WORKSPACE" ] || ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  echo "FAIL no git checkout found through $rc_file (resolved to $src)"
  echo "0 passed, 1 failed"
  exit 1
fi
dir=$work/x-any-name
mkdir -p "$dir"
ln -s "$(readlink -f "$src/../shared")" "$work/shared"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 -r sh -c \
  'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) | tar -C "$src" --null -T - -cf - |
  tar -C "$dir" -xf - || bad "copy of the checkout"

# bz OUTPUT_BASE ARGS...: one Bazel command in the copy, no server left.
bz() {
  base=$1
  shift
  (cd "$dir" && "$bazel" --batch --output_base="$work/$base" "$@")
}

if bz ob1 build //tests/tools:suite_counts_test >"$work/build.log" 2>&1; then
  ok "bazel build in a directory named x-any-name"
else
  bad "bazel build in x-any-name:"
  tail -20 "$work/build.log"
fi

links=$(cd "$dir" && find . -maxdepth 1 -type l -name 'bazel-*')
if [ -z "$links" ]; then ok "no bazel-* link at the root"; else bad "links at the root: $links"; fi
if [ -L "$dir/.bazel/bin" ] && [ -L "$dir/.bazel/x-any-name" ]; then
  ok "convenience links under .bazel/"
else
  bad "no .bazel/bin or .bazel/x-any-name: $(ls -la "$dir/.bazel" 2>&1)"
fi

# query BASE NAME: bazel query //... must list only the project's packages.
query() {
  if ! bz "$1" query //... >"$work/$1.labels" 2>"$work/$1.err"; then
    bad "$2: bazel query //... failed:"
    grep -m5 ERROR "$work/$1.err"
    return
  fi
  n=$(grep -c '^//' "$work/$1.labels")
  stray=$(grep -E '^//(\.bazel|bazel-)' "$work/$1.labels" | head -3)
  if [ "$n" -gt 0 ] && [ -z "$stray" ]; then
    ok "$2: bazel query //... lists $n targets, none under a convenience link"
  else
    bad "$2: $n targets, stray: $stray"
  fi
}
query ob1 "same output base"
query ob2 "another output base"
if [ -f "$work/ob1.labels" ] && [ -f "$work/ob2.labels" ] &&
  cmp -s "$work/ob1.labels" "$work/ob2.labels"; then
  ok "both output bases see the same targets"
else
  bad "the output bases see different targets"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
