#!/bin/sh
# fuzz-coverage.sh: line and branch coverage of the parsers by the committed
# fuzz corpora (`make fuzz-coverage`).
#
# Builds every fuzz target with clang-14 source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping) through fuzz/oss-fuzz/build.sh,
# so with the same sources as OSS-Fuzz, linked with fuzz/replay_main.c instead
# of a fuzzing engine; replays fuzz/corpus/<target>/ through each; merges the
# profiles with llvm-profdata-14 and ends with one line per parser file from
# llvm-cov-14:
#
#   coverage: gateway/xml/xml_tokenizer.c lines=93.1% branches=85.0%
#
# Environment: FUZZ_COVERAGE_DIR keeps the build, profiles and an HTML report
# there (default: a temporary directory, removed); FUZZ_COVERAGE_CORPUS=DIR
# replays DIR/<target>/ instead of fuzz/corpus/<target>/. The dependency
# variables of build.sh default to Debian's packages here.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
cc=${CC_COVERAGE:-clang-14}
cxx=${CXX_COVERAGE:-clang++-14}
profdata=${LLVM_PROFDATA:-llvm-profdata-14}
cov=${LLVM_COV:-llvm-cov-14}
corpus=${FUZZ_COVERAGE_CORPUS:-$repo/fuzz/corpus}

# The files printed: parsers of bytes from peers and the network, and the
# configuration parsers.
PARSER_FILES="
gateway/xml/xml_tokenizer.c gateway/xml/xml_parser.c gateway/xml/xml_namespaces.c
gateway/xml/xml_tree.c gateway/xml/xml_scan.c
gateway/s2s/s2s_in.c gateway/s2s/s2s_out.c gateway/s2s/jid.c gateway/s2s/bounce_element.c
gateway/s2s/bounce.c
crypto/san.c crypto/identity.c crypto/der.c crypto/ocsp.c crypto/crl.c
io/dns_wire.c io/dns_name.c io/http_response.c io/proxy_header.c
gateway/config/config_yaml.c gateway/config/config_index.c gateway/config/config_load.c
gateway/config/config_sections.c gateway/config/config_values.c
gateway/config/config_revocation.c
"

if [ -n "${FUZZ_COVERAGE_DIR-}" ]; then
  dir=$FUZZ_COVERAGE_DIR
  rm -rf "$dir"
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-coverage.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir/out" "$dir/work" "$dir/prof"

flags="-O0 -g -fprofile-instr-generate -fcoverage-mapping"
"$cc" -O1 -c fuzz/replay_main.c -o "$dir/work/replay_main.o"

android=/usr/lib/x86_64-linux-gnu/android
echo "== building the fuzz targets with coverage (fuzz/oss-fuzz/build.sh)"
env CC="$cc" CXX="$cxx" CFLAGS="$flags" CXXFLAGS="$flags" \
  LIB_FUZZING_ENGINE="$dir/work/replay_main.o" \
  OUT="$dir/out" WORK="$dir/work" SRC="$(dirname "$repo")" FEDGATE_DIR="$repo" \
  BORINGSSL_CFLAGS="${BORINGSSL_CFLAGS--I/usr/include/android}" \
  BORINGSSL_LIBS="${BORINGSSL_LIBS--L$android -Wl,-rpath,$android -l:libssl.so.0 -l:libcrypto.so.0}" \
  CYAML_CFLAGS="${CYAML_CFLAGS-}" CYAML_LIBS="${CYAML_LIBS--lcyaml}" \
  YAML_CFLAGS="${YAML_CFLAGS-}" YAML_LIBS="${YAML_LIBS--lyaml}" \
  IDN2_CFLAGS="${IDN2_CFLAGS-}" IDN2_LIBS="${IDN2_LIBS--lidn2}" \
  XXHASH_CFLAGS="${XXHASH_CFLAGS-}" XXHASH_LIBS="${XXHASH_LIBS--lxxhash}" \
  EXPAT_CFLAGS="${EXPAT_CFLAGS-}" EXPAT_LIBS="${EXPAT_LIBS--lexpat}" \
  RESOLV_LIBS="${RESOLV_LIBS--lresolv}" \
  bash fuzz/oss-fuzz/build.sh >"$dir/build.log" 2>&1 || {
  tail -30 "$dir/build.log"
  echo "fuzz-coverage: build failed (log: $dir/build.log)"
  exit 1
}

targets=$(bash fuzz/oss-fuzz/build.sh --list | awk '$1 != "project_cflags" {print $1}')
objects=""
echo "== replaying the corpora"
for t in $targets; do
  LLVM_PROFILE_FILE="$dir/prof/$t.profraw" "$dir/out/$t" "$corpus/$t" >"$dir/prof/$t.log" 2>&1 || {
    cat "$dir/prof/$t.log"
    echo "fuzz-coverage: $t failed on its corpus"
    exit 1
  }
  echo "  $t: $(grep -o 'replayed [0-9]* inputs' "$dir/prof/$t.log")"
  if [ -z "$objects" ]; then objects="$dir/out/$t"; else objects="$objects -object $dir/out/$t"; fi
done
"$profdata" merge -sparse "$dir"/prof/*.profraw -o "$dir/merged.profdata"

# shellcheck disable=SC2086
"$cov" export -summary-only -instr-profile="$dir/merged.profdata" $objects >"$dir/summary.json"
if [ -n "${FUZZ_COVERAGE_DIR-}" ]; then
  # shellcheck disable=SC2086
  "$cov" show -format=html -output-dir="$dir/html" -instr-profile="$dir/merged.profdata" \
    $objects $(for f in $PARSER_FILES; do echo "$repo/$f"; done) >/dev/null 2>&1 || true
  echo "  report: $dir/html/index.html"
fi
python3 - "$dir/summary.json" "$repo" $PARSER_FILES <<'PY'
import json, os, sys
summary, repo, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
files = {}
for data in json.load(open(summary))["data"]:
    for f in data["files"]:
        files[os.path.relpath(os.path.realpath(f["filename"]), os.path.realpath(repo))] = f["summary"]
missing = 0
for path in wanted:
    s = files.get(path)
    if s is None:
        print("coverage: %s not built into any target" % path)
        missing += 1
        continue
    print("coverage: %s lines=%.1f%% branches=%.1f%%" %
          (path, s["lines"]["percent"], s["branches"]["percent"]))
sys.exit(1 if missing else 0)
PY
