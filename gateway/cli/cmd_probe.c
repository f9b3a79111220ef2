// cmd_probe.c: `fedgate probe` reports the kernel features fedgate can use.
#include <stdio.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/xml/xml_simd.h"
#include "io/probe.h"

int fg_cmd_probe(int argc, char **argv) {
  if (argc > 1) return fg_usage_error("probe", "unexpected argument '%s'", argv[1]);
  fg_probe_result r;
  int ok = fg_probe_run(&r);
  fg_probe_print(&r, stdout);
  // Not a kernel feature, but the operator's other question about speed:
  // which build of the XML scanners this CPU runs.
  if (fg_xml_simd_available(FG_XML_SIMD_AVX2))
    printf("AVX2 XML scanners: yes (the CPU has AVX2 and the OS saves YMM state)\n");
  else
    printf("AVX2 XML scanners: no (the CPU or OS lacks AVX2 or this is not an x86-64 build)\n");
  // The copy of the whole XML parser that runs (gateway/xml/xml_simd.h):
  // "yes" when this CPU runs a copy above the baseline.
  fg_xml_simd xml = fg_xml_simd_active();
  printf("XML parser path: %s (%s, %s; this CPU runs up to %s)\n",
         fg_xml_simd_best() != FG_XML_SIMD_BASELINE ? "yes" : "no", fg_xml_simd_name(xml),
         fg_xml_simd_forced() ? "forced by " FG_XML_SIMD_ENV : "chosen by CPU detection",
         fg_xml_simd_name(fg_xml_simd_best()));
  if (!ok) {
    fprintf(stderr, "fedgate probe: io_uring is unavailable, fedgate cannot run here: %s\n",
            r.reason[FG_PROBE_IO_URING]);
    return 1;
  }
  return 0;
}
