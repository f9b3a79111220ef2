#!/bin/sh
# any_dir_test.sh: Bazel works in a checkout whatever its directory is called.
# Copies the checkout (its files as they are, tracked and new) into a
# directory named x-any-name beside a link to ../shared, builds one test
# there with one output base, and runs `bazel query //...` with another.
# Bazel skips only the links into the output base in use, so a convenience
# link into another one named after the directory (bazel-x-any-name) would
# make //... load Bazel's own packages: .bazelrc puts the links under .bazel/
# and .bazelignore names it.
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

# The query runs with another output base: Bazel skips only the links into
# its own, so a link named after the directory would be crawled here.
if bz ob2 query //... >"$work/labels" 2>"$work/query.err"; then
  n=$(grep -c '^//' "$work/labels")
  stray=$(grep -E '^//(\.bazel|bazel-)' "$work/labels" | head -3)
  if [ -z "$stray" ]; then
    ok "bazel query //... with another output base: $n targets, none under a link"
  else
    bad "bazel query //... lists targets under a link: $stray"
  fi
  missing=""
  for d in gateway io crypto tests fuzz bench examples; do
    grep -q "^//$d[/:]" "$work/labels" || missing="$missing $d"
  done
  if [ -z "$missing" ]; then ok "every project folder's targets listed"; else bad "no targets in:$missing"; fi
else
  bad "bazel query //... with another output base failed:"
  grep -m5 ERROR "$work/query.err"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
