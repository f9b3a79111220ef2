// dns_name.h: host names as io/dns accepts them: the LDH syntax check and the
// lowercase form without a trailing dot. io/dns.h includes this header, so
// its users see these declarations; io/dns_wire.c uses them for SRV targets.
#ifndef FEDGATE_IO_DNS_NAME_H
#define FEDGATE_IO_DNS_NAME_H

#include <stddef.h>

// FG_DNS_NAME_MAX is the longest host name accepted, without a trailing dot.
#define FG_DNS_NAME_MAX 253

// fg_dns_name_valid returns 1 if |name| (|len| bytes, one optional trailing
// dot) is an LDH host name: labels of 1-63 letters, digits and hyphens, no
// hyphen at either end of a label, at most 253 bytes.
int fg_dns_name_valid(const char *name, size_t len);

// fg_dns_name_normalize writes the NUL-terminated string |in| to |out|
// lowercased (ASCII) and without its trailing dot. It returns 1, or 0,
// writing nothing, if |in| is not a valid host name (fg_dns_name_valid).
int fg_dns_name_normalize(char out[FG_DNS_NAME_MAX + 1], const char *in);

#endif  // FEDGATE_IO_DNS_NAME_H
