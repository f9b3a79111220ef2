// xml_isa_rename.h: the names of one instruction-set copy of the XML parser.
// The per-stanza parser (xml_parser.c, xml_tokenizer.c, xml_tree.c,
// xml_namespaces.c, with the static inline scanners of xml_scan.h) is compiled
// once per x86-64 level (baseline and x86-64-v3) into the same binary (gateway/xml/BUILD.bazel,
// :xml_parser_level_*). The build force-includes this header (-include) into
// every file of a copy, with FG_XML_ISA_LEVEL set to the copy's level, so
// that the copy's external symbols carry the level as a suffix and the copies
// link side by side; gateway/xml/xml_simd.c picks one per parser.
//
// The baseline copy (level 1) keeps the public names of everything but its
// entry points: the accessors, the node lookups and the lifecycle calls other
// than creation are not on the hot path, and every copy lays out the parser
// the same way. The higher copies rename every external symbol, so their
// code never calls into another level.
//
// The list is checked twice: a symbol missing here is defined by two copies
// under one name, and the link fails; and
// tests/gateway/xml:xml_isa_symbols_test fails when a copy defines a name
// without its suffix or calls a parser function of another level.
#ifndef FEDGATE_GATEWAY_XML_ISA_RENAME_H
#define FEDGATE_GATEWAY_XML_ISA_RENAME_H

#if !defined(FG_XML_ISA_LEVEL)
#error "xml_isa_rename.h is force-included by :xml_parser_level_* with FG_XML_ISA_LEVEL set"
#endif

#define FG_XML_ISA_CAT_(a, b) a##b
#define FG_XML_ISA_CAT(a, b) FG_XML_ISA_CAT_(a, b)
#if FG_XML_ISA_LEVEL == 1
#define FG_XML_ISA_NAME(n) FG_XML_ISA_CAT(n, _x86_64_v1)
#elif FG_XML_ISA_LEVEL == 3
#define FG_XML_ISA_NAME(n) FG_XML_ISA_CAT(n, _x86_64_v3)
#else
#error "FG_XML_ISA_LEVEL must be 1 or 3"
#endif

// The entry points gateway/xml/xml_simd.c dispatches to: renamed in every copy.
#define fg_xml_parser_new FG_XML_ISA_NAME(fg_xml_parser_new)
#define fg_xml_parser_feed FG_XML_ISA_NAME(fg_xml_parser_feed)

#if FG_XML_ISA_LEVEL > 1
// xml_parser.h and xml_types.h (public).
#define fg_xml_config_default FG_XML_ISA_NAME(fg_xml_config_default)
#define fg_xml_element_full FG_XML_ISA_NAME(fg_xml_element_full)
#define fg_xml_error_condition FG_XML_ISA_NAME(fg_xml_error_condition)
#define fg_xml_limits_default FG_XML_ISA_NAME(fg_xml_limits_default)
#define fg_xml_node_attr FG_XML_ISA_NAME(fg_xml_node_attr)
#define fg_xml_node_child FG_XML_ISA_NAME(fg_xml_node_child)
#define fg_xml_parser_context FG_XML_ISA_NAME(fg_xml_parser_context)
#define fg_xml_parser_element FG_XML_ISA_NAME(fg_xml_parser_element)
#define fg_xml_parser_element_root FG_XML_ISA_NAME(fg_xml_parser_element_root)
#define fg_xml_parser_error FG_XML_ISA_NAME(fg_xml_parser_error)
#define fg_xml_parser_free FG_XML_ISA_NAME(fg_xml_parser_free)
#define fg_xml_parser_header FG_XML_ISA_NAME(fg_xml_parser_header)
#define fg_xml_parser_keepalive_bytes FG_XML_ISA_NAME(fg_xml_parser_keepalive_bytes)
#define fg_xml_parser_offset FG_XML_ISA_NAME(fg_xml_parser_offset)
#define fg_xml_parser_pending FG_XML_ISA_NAME(fg_xml_parser_pending)
#define fg_xml_parser_reset FG_XML_ISA_NAME(fg_xml_parser_reset)
#define fg_xml_parser_set_authenticated FG_XML_ISA_NAME(fg_xml_parser_set_authenticated)
#define fg_xml_parser_trim FG_XML_ISA_NAME(fg_xml_parser_trim)
#define fg_xml_str_eq FG_XML_ISA_NAME(fg_xml_str_eq)
// The parser's internal headers (xml_tokenizer.h, xml_tree.h,
// xml_namespaces.h).
#define fg_xml_ns_check_stream FG_XML_ISA_NAME(fg_xml_ns_check_stream)
#define fg_xml_ns_keep_stream_context FG_XML_ISA_NAME(fg_xml_ns_keep_stream_context)
#define fg_xml_ns_process FG_XML_ISA_NAME(fg_xml_ns_process)
#define fg_xml_tokenize FG_XML_ISA_NAME(fg_xml_tokenize)
#define fg_xml_tree_build_element FG_XML_ISA_NAME(fg_xml_tree_build_element)
#define fg_xml_tree_build_header FG_XML_ISA_NAME(fg_xml_tree_build_header)
#endif

#endif  // FEDGATE_GATEWAY_XML_ISA_RENAME_H
