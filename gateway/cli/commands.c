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
    {"ctl",
     "[--admin HOST:PORT | --socket PATH] status | streams | backends | close stream ID "
     "[--reason TEXT] | drain backend NAME[/HOST:PORT] | undrain backend NAME[/HOST:PORT] | "
     "reload | add domain D --backend NAME [--cert FILE --key FILE] | remove domain D",
     "act on a running gateway through its admin endpoint (docs/admin.md)", fg_cmd_ctl},
    {"dev-pki", "DIR [--domain D ...] [--xmppaddr]",
     "write a development CA and a certificate per domain (no domain: the CA alone)",
     fg_cmd_dev_pki},
    {"parse-stream", "[--c2s] [FILE|-]",
     "parse a captured XMPP stream; print it canonically or the stream error", fg_cmd_parse_stream},
    {"run", "--config FILE [--workers N] [--pin-workers] [--no-ktls]",
     "run the gateway with a configuration file until SIGINT/SIGTERM", fg_cmd_run},
    {"ticket-keys", "new FILE | rotate FILE [--keep N]",
     "write a TLS ticket key file shared by instances, or add a newest key and retire the oldest "
     "beyond N (default 3)",
     fg_cmd_ticket_keys},
    {"posh", "CERT [--expires SECONDS]",
     "print the POSH document (RFC 7711) publishing CERT's fingerprints", fg_cmd_posh},
    {"tlsa", "CERT [--usage U] [--selector S] [--match M]",
     "print the TLSA record data for a certificate (default 3 1 1: SHA-256 of its public key)",
     fg_cmd_tlsa},
    {"probe", "", "report which io_uring and kernel TLS features this kernel offers", fg_cmd_probe},
    {"version", "", "print fedgate's version and the linked library versions", fg_cmd_version},
    {NULL, NULL, NULL, NULL},
};
