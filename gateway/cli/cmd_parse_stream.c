// cmd_parse_stream.c: `fedgate parse-stream [--c2s] [FILE|-]` reads a captured
// XMPP stream and prints it canonically: the stream header, each top-level
// element on one line, and the close. A stream error prints
// `stream-error: <condition> at byte <offset>` and exits 1.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_serializer.h"

static int print_event(fg_xml_parser *p, fg_xml_writer *w, fg_xml_event ev) {
  const fg_xml_stream_header *h = fg_xml_parser_header(p);
  int ok = 1;
  fg_xml_writer_clear(w);
  switch (ev) {
    case FG_XML_EVENT_STREAM_OPEN:
      ok = fg_xml_writer_stream_open(w, h);
      break;
    case FG_XML_EVENT_ELEMENT: {
      size_t n;
      const fg_xml_nsdecl *ctx = fg_xml_parser_context(p, &n);
      ok = fg_xml_writer_element(w, fg_xml_parser_element(p)->root, ctx, n, FG_XML_WRITE_ONE_LINE);
      break;
    }
    case FG_XML_EVENT_STREAM_CLOSE:
      ok = fg_xml_writer_stream_close(w, h);
      break;
    default:
      return 1;
  }
  if (!ok) {
    fprintf(stderr, "fedgate parse-stream: cannot write the event canonically\n");
    return 0;
  }
  size_t len;
  const uint8_t *d = fg_xml_writer_data(w, &len);
  fwrite(d, 1, len, stdout);
  fputc('\n', stdout);
  return 1;
}

int fg_cmd_parse_stream(int argc, char **argv) {
  const char *path = NULL;
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  for (int k = 1; k < argc; k++) {
    if (strcmp(argv[k], "--c2s") == 0) {
      cfg.content_ns = FG_XML_NS_CLIENT;
    } else if (argv[k][0] == '-' && argv[k][1] != 0) {
      return fg_usage_error("parse-stream", "unknown option '%s'", argv[k]);
    } else if (path == NULL) {
      path = argv[k];
    } else {
      return fg_usage_error("parse-stream", "unexpected argument '%s'", argv[k]);
    }
  }
  FILE *f = stdin;
  if (path != NULL && strcmp(path, "-") != 0) {
    f = fopen(path, "rb");
    if (f == NULL) {
      fprintf(stderr, "fedgate parse-stream: cannot open %s: %s\n", path, strerror(errno));
      return 1;
    }
  }
  fg_xml_parser *p = fg_xml_parser_new(&cfg);
  fg_xml_writer *w = fg_xml_writer_new();
  int status = 0;
  if (p == NULL || w == NULL) {
    fprintf(stderr, "fedgate parse-stream: out of memory\n");
    status = 1;
    goto done;
  }
  static uint8_t chunk[16384];
  size_t n;
  int eof = 0;
  while (!eof && status == 0) {
    n = fread(chunk, 1, sizeof(chunk), f);
    if (n < sizeof(chunk)) eof = 1;
    const uint8_t *in = chunk;
    while (n > 0 || fg_xml_parser_pending(p)) {
      size_t used;
      fg_xml_event ev = fg_xml_parser_feed(p, &used, in, n);
      in += used;
      n -= used;
      if (ev == FG_XML_EVENT_NEED_MORE) break;
      if (ev == FG_XML_EVENT_ERROR) {
        uint64_t off;
        fg_xml_error e = fg_xml_parser_error(p, &off);
        fflush(stdout);
        printf("stream-error: %s at byte %llu\n", fg_xml_error_condition(e),
               (unsigned long long)off);
        status = 1;
        break;
      }
      if (!print_event(p, w, ev)) {
        status = 1;
        break;
      }
    }
  }
  if (status == 0 && ferror(f)) {
    fprintf(stderr, "fedgate parse-stream: read error\n");
    status = 1;
  }
done:
  if (f != stdin) fclose(f);
  fg_xml_writer_free(w);
  fg_xml_parser_free(p);
  return status;
}
