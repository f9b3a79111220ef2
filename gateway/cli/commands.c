// commands.c: the table of `fedgate` subcommands. Each entry's implementation
// lives in its own file (gateway/cmd_*.c).
#include <stddef.h>

#include "gateway/cli/command.h"
#include "gateway/cli/cmd.h"

const fg_command fg_commands[] = {
    {"check-config", "FILE", "validate a configuration file without starting", fg_cmd_check_config},
    {"check-cert",
     "--cert FILE [--chain FILE] [--ca FILE|DIR] --domain DOMAIN [--service "
     "xmpp-server|xmpp-client] [--legacy-cn] [--at UNIXTIME] [--role outbound|inbound] "
     "[--ocsp [--ocsp-url URL] [--ocsp-timeout SECONDS]]",
     "check a certificate chain, its XMPP identity for a domain and, with --ocsp, revocation",
     fg_cmd_check_cert},
    {"dev-pki", "DIR --domain D [--domain D ...] [--xmppaddr]",
     "write a development CA and a certificate per domain", fg_cmd_dev_pki},
    {"parse-stream", "[--c2s] [FILE|-]",
     "parse a captured XMPP stream; print it canonically or the stream error", fg_cmd_parse_stream},
    {"run", "--config FILE [--workers N] [--pin-workers] [--no-ktls]",
     "run the gateway with a configuration file until SIGINT/SIGTERM", fg_cmd_run},
    {"tlsa", "CERT [--usage U] [--selector S] [--match M]",
     "print the TLSA record data for a certificate (default 3 1 1: SHA-256 of its public key)",
     fg_cmd_tlsa},
    {"probe", "", "report which io_uring and kernel TLS features this kernel offers", fg_cmd_probe},
    {"version", "", "print fedgate's version and the linked library versions", fg_cmd_version},
    {NULL, NULL, NULL, NULL},
};
