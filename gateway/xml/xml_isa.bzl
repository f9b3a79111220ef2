"""xml_parser_level: one instruction-set copy of the per-stanza XML parser.

The copy's sources are compiled with -march=|march| (x86-64 builds only; a
copy above the baseline is empty elsewhere) and with xml_isa_rename.h
force-included under FG_XML_ISA_LEVEL=|level|, which gives its external
symbols the level's suffix so that the copies link into one binary.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def xml_parser_level(name, srcs, level, march):
    flags = ["-include", "gateway/xml/xml_isa_rename.h", "-DFG_XML_ISA_LEVEL=%d" % level]
    if march:
        x86_copts = flags + ["-march=" + march]
        x86_srcs = srcs
        other_srcs = []
    else:
        x86_copts = flags
        x86_srcs = srcs
        other_srcs = srcs
    cc_library(
        name = name,
        srcs = select({
            ":x86_64": x86_srcs,
            "//conditions:default": other_srcs,
        }),
        hdrs = [
            "xml_isa_rename.h",
            "xml_simd.h",
            ":xml_parser_internal_headers",
        ],
        copts = select({
            ":x86_64": x86_copts,
            "//conditions:default": flags,
        }),
        visibility = ["//visibility:private"],
        deps = [":xml_scan"],
    )
