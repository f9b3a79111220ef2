#!/bin/sh
# xml_fuzz.sh [SECONDS]: builds xml_parser_fuzzer and xml_roundtrip_fuzzer with
# libFuzzer + ASan/UBSan (--config=fuzz; the binary carries every
# instruction-set copy of the parser and xml_parser_fuzzer runs each one the
# CPU has on every input), seeds them from the committed corpora and the
# shared vectors, and runs each for SECONDS (default 60). Exits non-zero on
# the first crash; the reproducer is left in the working directory printed.
set -eu
secs=${1:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bazel_args=${BAZEL_ARGS:-}
# shellcheck disable=SC2086
bazel $bazel_args build --config=fuzz --copt=-fno-sanitize-recover=all \
  //fuzz:xml_parser_fuzzer //fuzz:xml_roundtrip_fuzzer
bin=$(bazel $bazel_args info --config=fuzz bazel-bin 2>/dev/null)/fuzz
work=$(mktemp -d "${TMPDIR:-/tmp}/xml_fuzz.XXXXXX")
"$repo/fuzz/xml_seeds_from_vectors.sh" "$work/seeds" > /dev/null
for t in xml_parser_fuzzer xml_roundtrip_fuzzer; do
  mkdir -p "$work/$t"
  cp "$repo/fuzz/corpus/$t/"* "$work/seeds/$t/"* "$work/$t/"
  echo "== $t for ${secs}s (in $work)"
  status=0
  (cd "$work" && "$bin/$t" -max_total_time="$secs" -dict="$repo/fuzz/xml.dict" \
      -max_len=20000 -print_final_stats=1 "$t" > "$work/$t.log" 2>&1) || status=$?
  tail -n 12 "$work/$t.log"
  if [ "$status" != 0 ]; then
    echo "$t failed (status $status); log and reproducer in $work"
    exit 1
  fi
done
echo "xml fuzzing done: $work"
