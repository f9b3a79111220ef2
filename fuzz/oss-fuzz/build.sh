#!/bin/bash -eu
# build.sh: builds every fedgate fuzz target for OSS-Fuzz, without Bazel.
#
# OSS-Fuzz runs it in $SRC/fedgate (the Dockerfile's WORKDIR) with CC, CXX,
# CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, OUT, SRC and WORK set. For each target
# it writes $OUT/<target>, $OUT/<target>_seed_corpus.zip (fuzz/corpus/<target>/),
# $OUT/<target>.dict (fuzz/<target>.dict or fuzz/<prefix>.dict, prefix: the
# name up to its first '_', as tools/fuzz.sh picks them) and
# $OUT/<target>.options.
#
# The table at the end is the list of targets: the C sources of each and the
# libraries it links. //fuzz/oss-fuzz:sources_test compares it with what
# Bazel builds (deps of //fuzz:<target>) and fails when they drift;
# //fuzz/oss-fuzz:build_test runs this script under an emulated OSS-Fuzz
# environment. `build.sh --list` prints the table and builds nothing.
#
# Where the dependencies come from, as compiler and linker flags (each may be
# set, even to empty; the defaults are OSS-Fuzz's layout from the Dockerfile):
#   BORINGSSL_CFLAGS, BORINGSSL_LIBS  default: BoringSSL from $SRC/boringssl,
#                                     built here with $CC/$CXX (CMake)
#   CYAML_CFLAGS, CYAML_LIBS          default: libcyaml from $SRC/libcyaml,
#                                     built here with $CC
#   YAML_CFLAGS, YAML_LIBS            default: libyaml-dev, linked statically
#   IDN2_CFLAGS, IDN2_LIBS            default: libidn2-dev (+ libunistring),
#                                     linked statically
#   XXHASH_CFLAGS, XXHASH_LIBS        default: header-only from $SRC/xxhash
#   EXPAT_CFLAGS, EXPAT_LIBS          default: libexpat1-dev, linked statically
#   RESOLV_LIBS                       default: glibc's -lresolv
# FEDGATE_DIR is the checkout (default: the current directory when it is one,
# else $SRC/fedgate).
set -euo pipefail  # also when run as `bash build.sh` (the shebang's flags then do not apply)

# Project flags: the unconditional and --config=fuzz defines of .bazelrc
# (the sources test checks that they are all here).
PROJECT_CFLAGS="-std=c11 -D_GNU_SOURCE -DFEDGATE_FUZZING=1"

# Source groups several targets share.
# SRC@N: SRC compiled for x86-64 level N as one instruction-set copy of the
# XML parser (gateway/xml/xml_isa.bzl; see compile below).
XML_PARSER_LEVEL="gateway/xml/xml_namespaces.c gateway/xml/xml_parser.c gateway/xml/xml_tokenizer.c
  gateway/xml/xml_tree.c"
XML_PARSER="gateway/xml/xml_scan.c gateway/xml/xml_simd.c
  $(for n in 1 3; do for f in $XML_PARSER_LEVEL; do printf ' %s@%s' "$f" "$n"; done; done)"
XML_TRANSCRIPT="tests/gateway/xml/xml_transcript.c gateway/xml/xml_serializer.c $XML_PARSER"
S2S_IN="crypto/dialback_key.c gateway/s2s/bounce.c gateway/s2s/bounce_element.c
  gateway/s2s/jid.c gateway/s2s/header_text.c gateway/s2s/s2s_in.c gateway/s2s/sm.c $XML_PARSER
  gateway/s2s/auth_method.c gateway/s2s/bidi.c"

# fuzzer NAME MAX_LEN LIBS SOURCES...: one target. LIBS is a comma-separated
# subset of boringssl, cyaml, yaml, idn2, xxhash, expat, resolv (or "-").
TABLE="
fuzzer identity_fuzzer 8192 boringssl,idn2
  fuzz/identity_fuzzer.c crypto/identity.c crypto/san.c

fuzzer config_fuzzer 16384 boringssl,cyaml,yaml,idn2,xxhash
  fuzz/config_fuzzer.c
  gateway/config/config.c gateway/config/config_abuse.c gateway/config/config_diag.c gateway/config/config_dnssec.c
  gateway/config/config_files.c gateway/config/config_index.c gateway/config/config_load.c
  gateway/config/config_operation.c gateway/config/config_overlay.c gateway/config/config_posh.c
  gateway/config/config_revocation.c gateway/config/config_sm.c gateway/config/config_bidi.c
  gateway/config/config_sections.c
  gateway/config/config_values.c gateway/config/config_yaml.c
  gateway/server/router.c io/addr_policy.c crypto/ticket_key_file.c

fuzzer xml_parser_fuzzer 20000 - fuzz/xml_parser_fuzzer.c $XML_TRANSCRIPT

fuzzer xml_roundtrip_fuzzer 20000 - fuzz/xml_roundtrip_fuzzer.c $XML_TRANSCRIPT

fuzzer xml_expat_diff_fuzzer 4096 expat fuzz/xml_expat_diff_fuzzer.c $XML_PARSER

fuzzer s2s_in_fuzzer 16384 boringssl fuzz/s2s_in_fuzzer.c $S2S_IN

fuzzer s2s_out_fuzzer 16384 boringssl fuzz/s2s_out_fuzzer.c gateway/s2s/s2s_out.c
  gateway/s2s/pair_set.c $S2S_IN

fuzzer s2s_out_negotiation_fuzzer 4096 boringssl
  fuzz/s2s_out_negotiation_fuzzer.c gateway/s2s/s2s_out.c gateway/s2s/pair_set.c $S2S_IN

fuzzer jid_fuzzer 1100 - fuzz/jid_fuzzer.c gateway/s2s/jid.c

fuzzer bounce_element_fuzzer 8192 -
  fuzz/bounce_element_fuzzer.c gateway/s2s/bounce.c gateway/s2s/bounce_element.c $XML_PARSER

fuzzer dns_answer_fuzzer 4096 resolv
  fuzz/dns_answer_fuzzer.c crypto/tlsa.c io/dns_name.c io/dns_wire.c

fuzzer dns_resolv_diff_fuzzer 4096 resolv
  fuzz/dns_resolv_diff_fuzzer.c crypto/tlsa.c io/dns_name.c io/dns_wire.c

fuzzer dns_tlsa_fuzzer 8192 boringssl,idn2,resolv
  fuzz/dns_tlsa_fuzzer.c crypto/dane.c crypto/identity.c crypto/san.c crypto/tlsa.c
  io/dns_name.c io/dns_wire.c

fuzzer proxy_header_fuzzer 4096 - fuzz/proxy_header_fuzzer.c io/proxy_header.c

fuzzer ocsp_response_fuzzer 65536 boringssl fuzz/ocsp_response_fuzzer.c crypto/der.c crypto/ocsp.c

fuzzer crl_fuzzer 65536 boringssl fuzz/crl_fuzzer.c crypto/crl.c crypto/der.c

fuzzer http_response_fuzzer 65536 - fuzz/http_response_fuzzer.c io/http_response.c

fuzzer rtbl_items_fuzzer 16384 boringssl,xxhash
  fuzz/rtbl_items_fuzzer.c gateway/policy/rtbl_items.c gateway/policy/blocklist.c
  crypto/epoch.c io/dns_name.c $XML_PARSER
fuzzer posh_document_fuzzer 65536 boringssl fuzz/posh_document_fuzzer.c crypto/posh.c
"

# list_targets prints one line per target: NAME MAX_LEN LIBS SOURCES...
list_targets() {
  echo "$TABLE" | awk '$1 == "fuzzer" {if (l) print l; l=$2" "$3" "$4; for (i=5;i<=NF;i++) l=l" "$i; next}
                       {for (i=1;i<=NF;i++) l=l" "$i} END{if (l) print l}'
}

if [ "${1-}" = --list ]; then
  list_targets
  echo "project_cflags $PROJECT_CFLAGS"
  exit 0
fi

: "${CC:?}" "${CFLAGS?}" "${LIB_FUZZING_ENGINE?}" "${OUT:?}" "${SRC:?}" "${WORK:?}"
CXX=${CXX:-$CC}
CXXFLAGS=${CXXFLAGS-$CFLAGS}
if [ -z "${FEDGATE_DIR-}" ]; then
  if [ -f fuzz/oss-fuzz/build.sh ]; then FEDGATE_DIR=$PWD; else FEDGATE_DIR=$SRC/fedgate; fi
fi
cd "$FEDGATE_DIR"
mkdir -p "$OUT" "$WORK"

# --- dependencies (built here so that they carry the sanitizer flags) ---

# Outside OSS-Fuzz's image (no sources under $SRC), the dependencies the
# system has: Debian's packages, Android's BoringSSL among them.
android=/usr/lib/x86_64-linux-gnu/android
if [ -z "${BORINGSSL_LIBS+set}" ] && [ ! -d "$SRC/boringssl" ] &&
  [ -d /usr/include/android/openssl ]; then
  BORINGSSL_CFLAGS="-I/usr/include/android"
  BORINGSSL_LIBS="-L$android -Wl,-rpath,$android -l:libssl.so.0 -l:libcrypto.so.0 -lpthread"
fi
if [ -z "${CYAML_LIBS+set}" ] && [ ! -d "$SRC/libcyaml" ]; then
  CYAML_CFLAGS=""
  CYAML_LIBS="-lcyaml"
fi
if [ ! -d "$SRC/boringssl" ]; then
  # Shared system libraries: Debian ships no static libunistring.
  YAML_LIBS=${YAML_LIBS--lyaml}
  IDN2_LIBS=${IDN2_LIBS--lidn2}
  EXPAT_LIBS=${EXPAT_LIBS--lexpat}
fi
if [ -z "${BORINGSSL_LIBS+set}" ]; then
  b=$WORK/boringssl-build
  extra=""
  case "$CFLAGS" in *-fsanitize=memory*) extra="-DOPENSSL_NO_ASM=1" ;; esac
  cmake -S "$SRC/boringssl" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" $extra
  ninja -C "$b" ssl crypto
  BORINGSSL_CFLAGS="-I$SRC/boringssl/include"
  BORINGSSL_LIBS="$b/libssl.a $b/libcrypto.a -lpthread"
fi
if [ -z "${CYAML_LIBS+set}" ]; then
  # libcyaml's Makefile appends its own flags to CFLAGS from the environment.
  make -C "$SRC/libcyaml" VARIANT=release CC="$CC" build/release/libcyaml.a
  CYAML_CFLAGS="-I$SRC/libcyaml/include"
  CYAML_LIBS="$SRC/libcyaml/build/release/libcyaml.a"
fi
BORINGSSL_CFLAGS=${BORINGSSL_CFLAGS-}
CYAML_CFLAGS=${CYAML_CFLAGS-}
YAML_CFLAGS=${YAML_CFLAGS-}
YAML_LIBS=${YAML_LIBS--Wl,-Bstatic -lyaml -Wl,-Bdynamic}
IDN2_CFLAGS=${IDN2_CFLAGS-}
IDN2_LIBS=${IDN2_LIBS--Wl,-Bstatic -lidn2 -lunistring -Wl,-Bdynamic}
XXHASH_CFLAGS=${XXHASH_CFLAGS--I$SRC/xxhash -DXXH_INLINE_ALL}
XXHASH_LIBS=${XXHASH_LIBS-}
EXPAT_CFLAGS=${EXPAT_CFLAGS-}
EXPAT_LIBS=${EXPAT_LIBS--Wl,-Bstatic -lexpat -Wl,-Bdynamic}
RESOLV_LIBS=${RESOLV_LIBS--lresolv}

DEP_CFLAGS="$BORINGSSL_CFLAGS $CYAML_CFLAGS $YAML_CFLAGS $IDN2_CFLAGS $XXHASH_CFLAGS $EXPAT_CFLAGS"

# --- fedgate ---

obj=$WORK/fedgate-obj
mkdir -p "$obj"

# SRC@N is SRC built as the XML parser's copy for x86-64 level N
# (gateway/xml/xml_isa.bzl): xml_isa_rename.h force-included to give its
# symbols the level's suffix, and -march for the levels above the baseline.
# Other CPUs build the baseline copy only (gateway/xml/xml_simd.c uses no
# other there).
case "$($CC -dumpmachine 2>/dev/null)" in
  x86_64*) X86_64=1 ;;
  *) X86_64=0 ;;
esac

# compile SRC: one object per source file (per level for SRC@N), shared by the
# targets using it.
compile() {
  src=${1%@*}
  o=$obj/$(echo "$1" | tr /@ __).o
  extra=""
  case "$1" in
    *@1) extra="-include gateway/xml/xml_isa_rename.h -DFG_XML_ISA_LEVEL=1" ;;
    *@3)
      [ "$X86_64" = 1 ] || return 0
      n=${1##*@}
      extra="-include gateway/xml/xml_isa_rename.h -DFG_XML_ISA_LEVEL=$n -march=x86-64-v$n"
      ;;
  esac
  if [ ! -f "$o" ]; then
    # shellcheck disable=SC2086
    $CC $CFLAGS $PROJECT_CFLAGS -I. $DEP_CFLAGS $extra -c "$src" -o "$o"
  fi
  objs="$objs $o"
}

# libs LIST: the linker flags of a comma-separated library list, in link order.
libs() {
  l=""
  case ",$1," in *,cyaml,*) l="$l $CYAML_LIBS" ;; esac
  case ",$1," in *,yaml,*) l="$l $YAML_LIBS" ;; esac
  case ",$1," in *,idn2,*) l="$l $IDN2_LIBS" ;; esac
  case ",$1," in *,xxhash,*) l="$l $XXHASH_LIBS" ;; esac
  case ",$1," in *,expat,*) l="$l $EXPAT_LIBS" ;; esac
  case ",$1," in *,boringssl,*) l="$l $BORINGSSL_LIBS" ;; esac
  case ",$1," in *,resolv,*) l="$l $RESOLV_LIBS" ;; esac
  echo "$l"
}

list_targets | while read -r name max_len liblist srcs; do
  objs=""
  for s in $srcs; do compile "$s"; done
  # Linked with the C++ driver: libFuzzer, AFL's and honggfuzz's drivers and
  # BoringSSL's libssl are C++.
  # shellcheck disable=SC2086
  $CXX $CXXFLAGS $objs $LIB_FUZZING_ENGINE $(libs "$liblist") -lpthread -o "$OUT/$name"

  rm -f "$OUT/${name}_seed_corpus.zip"
  (cd "fuzz/corpus/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  dict=""
  for d in "fuzz/$name.dict" "fuzz/${name%%_*}.dict"; do
    if [ -f "$d" ]; then
      cp "$d" "$OUT/$name.dict"
      dict=$name.dict
      break
    fi
  done
  {
    echo "[libfuzzer]"
    echo "max_len = $max_len"
    if [ -n "$dict" ]; then echo "dict = $dict"; fi
  } > "$OUT/$name.options"
done
