#!/bin/sh
# xml_isa_symbols_test.sh: the instruction-set copies of the XML parser
# (gateway/xml/xml_isa_rename.h) are kept apart. Arguments: the copies'
# archives (libxml_parser_level_N.a; other files are ignored). For each copy:
# - every parser function it calls is its own (defined in the same archive)
#   or one of the shared, level-free names below, so no copy runs code of
#   another level;
# - above the baseline, every name it defines carries its level's suffix, so
#   a name left out of the rename list cannot mix levels;
# - it defines its two entry points;
# - the baseline copy has no AVX (VEX-encoded YMM) instructions and the
#   x86-64-v3 copy has, so each copy was built for its level.
shared='fg_xml_byte_class fg_xml_scan_init'
pass=0
fail=0
check() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}
seen=0
for a in "$@"; do
  case "$a" in
    *libxml_parser_level_[123].a) ;;
    *) continue ;;
  esac
  seen=$((seen + 1))
  n=$(basename "$a" .a | sed 's/.*_//')
  suffix="_x86_64_v$n"
  defined=$(nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | sort -u)
  undefined=$(nm -u "$a" | awk '{ print $NF }' | grep '^fg_' | sort -u)
  for e in fg_xml_parser_new fg_xml_parser_feed; do
    echo "$defined" | grep -qx "$e$suffix" && check ok || check no "level $n defines $e$suffix"
  done
  foreign=""
  for u in $undefined; do
    echo "$defined" | grep -qx "$u" && continue
    case " $shared " in *" $u "*) continue ;; esac
    foreign="$foreign $u"
  done
  [ -z "$foreign" ] && check ok || check no "level $n calls parser code it does not own:$foreign"
  if [ "$n" != 1 ]; then
    unsuffixed=$(echo "$defined" | grep -v -- "$suffix\$" | tr '\n' ' ')
    [ -z "$unsuffixed" ] && check ok || check no "level $n defines names without $suffix: $unsuffixed"
  fi
  ymm=$(objdump -d --no-show-raw-insn "$a" | grep -c '%ymm')
  case "$n" in
    1) [ "$ymm" = 0 ] && check ok || check no "baseline copy has $ymm YMM instructions" ;;
    3) [ "$ymm" -gt 0 ] && check ok || check no "x86-64-v3 copy has no YMM instruction" ;;
  esac
done
want=1
[ "$(uname -m)" = x86_64 ] && want=2  # the baseline and x86-64-v3 copies
[ $seen -ge $want ] && check ok || check no "$seen parser copies given, $want expected"
echo "copies checked: $seen"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
