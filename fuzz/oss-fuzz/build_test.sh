#!/bin/bash
# build_test.sh BUILD_SH [FILES...]: runs fuzz/oss-fuzz/build.sh the way
# OSS-Fuzz's `compile` does (clang-14, ASan + libFuzzer flags, OUT and WORK
# scratch directories, SRC the checkout's parent), with the dependencies
# taken from Debian's packages, then checks every target's outputs and fuzzes
# each from its seed corpus for FUZZ_SECONDS (default 3) seconds. One case
# per target (its executable, seed zip, options and dictionary, and a run
# without a crash); ends with "N passed, M failed".
#
# The checkout is found through BUILD_SH: Bazel's runfiles link to the source
# tree, and build.sh needs the sources themselves (the remaining arguments,
# the fuzz targets, corpora and dictionaries, are data only so that Bazel
# reruns this test when they change).
set -u
build_sh=$(readlink -f "$1")
repo=$(cd "$(dirname "$build_sh")/../.." && pwd)
if [ ! -f "$repo/WORKSPACE" ] || [ ! -d "$repo/fuzz/corpus" ]; then
  echo "build_test: no checkout around $build_sh"
  echo "0 passed, 1 failed"
  exit 1
fi
seconds=${FUZZ_SECONDS:-3}
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export CC=clang-14 CXX=clang++-14
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export OUT=$tmp/out WORK=$tmp/work SRC
SRC=$(dirname "$repo")
# Only what OSS-Fuzz sets: with no dependency sources under $SRC, build.sh
# takes the system's (Debian's packages, Android's BoringSSL).
unset BORINGSSL_CFLAGS BORINGSSL_LIBS CYAML_CFLAGS CYAML_LIBS YAML_CFLAGS YAML_LIBS \
  IDN2_CFLAGS IDN2_LIBS XXHASH_CFLAGS XXHASH_LIBS EXPAT_CFLAGS EXPAT_LIBS RESOLV_LIBS
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
rm -rf "$OUT" "$WORK"
mkdir -p "$OUT" "$WORK"

echo "== build.sh (CC=$CC, SRC=$SRC)"
if ! (cd "$repo" && bash -eu "$build_sh") >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log"
  echo "build.sh failed"
  echo "0 passed, 1 failed"
  exit 1
fi

targets=$(bash "$build_sh" --list | awk '$1 != "project_cflags" {print $1}')
passed=0
failed=0
for t in $targets; do
  why=""
  [ -x "$OUT/$t" ] || why="no executable $OUT/$t"
  [ -z "$why" ] && ! unzip -tq "$OUT/${t}_seed_corpus.zip" >/dev/null 2>&1 && why="no valid seed zip"
  [ -z "$why" ] && ! grep -q '^\[libfuzzer\]' "$OUT/$t.options" 2>/dev/null && why="no options file"
  flags=""
  if [ -z "$why" ]; then
    max_len=$(sed -n 's/^max_len = //p' "$OUT/$t.options")
    [ -n "$max_len" ] && flags="-max_len=$max_len"
    dict=$(sed -n 's/^dict = //p' "$OUT/$t.options")
    if [ -n "$dict" ]; then
      if [ -f "$OUT/$dict" ]; then flags="$flags -dict=$OUT/$dict"; else why="options name a missing $dict"; fi
    fi
  fi
  if [ -z "$why" ]; then
    corpus=$tmp/corpus/$t
    mkdir -p "$corpus"
    unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$corpus"
    # shellcheck disable=SC2086
    if ! (cd "$tmp" && "$OUT/$t" $flags -max_total_time="$seconds" -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$tmp/crash-$t-" "$corpus") >"$tmp/$t.log" 2>&1; then
      tail -30 "$tmp/$t.log"
      why="crashed (see above)"
    fi
  fi
  if [ -n "$why" ]; then
    failed=$((failed + 1))
    echo "FAIL $t: $why"
  else
    passed=$((passed + 1))
    echo "ok   $t: $(sed -n 's/^stat::number_of_executed_units: */executions /p' "$tmp/$t.log"), $(ls "$corpus" | wc -l) inputs"
  fi
done
[ -n "$targets" ] || { echo "build.sh lists no targets"; failed=1; }
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
