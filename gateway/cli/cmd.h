// cmd.h: entry points of the `fedgate` subcommands, one per gateway/cmd_*.c.
// Each takes the arguments after `fedgate` (argv[0] is the subcommand name)
// and returns the exit status (0 ok, 1 negative verdict, 2 usage error).
#ifndef FEDGATE_GATEWAY_CMD_H
#define FEDGATE_GATEWAY_CMD_H

int fg_cmd_check_config(int argc, char **argv);
int fg_cmd_check_cert(int argc, char **argv);
int fg_cmd_ctl(int argc, char **argv);
int fg_cmd_dev_pki(int argc, char **argv);
int fg_cmd_parse_stream(int argc, char **argv);
int fg_cmd_posh(int argc, char **argv);
int fg_cmd_probe(int argc, char **argv);
int fg_cmd_run(int argc, char **argv);
int fg_cmd_ticket_keys(int argc, char **argv);
int fg_cmd_version(int argc, char **argv);
int fg_cmd_tlsa(int argc, char **argv);

#endif  // FEDGATE_GATEWAY_CMD_H
