// identity_seed_gen.c: writes the hand-made seed corpus of identity_fuzzer
// (fuzz/corpus/identity_fuzzer/) with crypto/devpki: real-shaped
// certificates with the identifier mixes the matcher must handle.
//
//   bazel run //fuzz:identity_seed_gen -- $PWD/fuzz/corpus/identity_fuzzer
//
// Each seed is [ref_len][reference][flags][DER] (see identity_fuzzer.c).
// Keys and serials are random, so rerunning produces different bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>

#include "crypto/devpki.h"

#define T0 1700000000LL

static const char *g_dir;
static EVP_PKEY *g_key;

#define N(k, s) \
  { (k), (const uint8_t *)(s), sizeof(s) - 1 }

static void seed(const char *name, const char *ref, unsigned flags, fg_devpki_spec spec) {
  spec.not_before = T0;
  spec.not_after = T0 + 90 * 86400;
  if (spec.path_len == 0) spec.path_len = -1;
  X509 *x = fg_devpki_mint(&spec, g_key, NULL, NULL);
  uint8_t *der = NULL;
  int len = x != NULL ? i2d_X509(x, &der) : -1;
  if (len <= 0) {
    fprintf(stderr, "cannot mint %s\n", name);
    exit(1);
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    perror(path);
    exit(1);
  }
  uint8_t hdr = (uint8_t)strlen(ref);
  uint8_t fl = (uint8_t)flags;
  fwrite(&hdr, 1, 1, f);
  fwrite(ref, 1, hdr, f);
  fwrite(&fl, 1, 1, f);
  fwrite(der, 1, (size_t)len, f);
  fclose(f);
  OPENSSL_free(der);
  X509_free(x);
  printf("%s\n", path);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: identity_seed_gen DIR\n");
    return 2;
  }
  g_dir = argv[1];
  g_key = fg_devpki_key_p256();

  fg_devpki_name dns_only[] = {N(FG_DEVPKI_DNS, "chat.example")};
  seed("dns_only", "chat.example", 0,
       (fg_devpki_spec){.cn = "chat.example", .names = dns_only, .num_names = 1});

  fg_devpki_name srv_dns[] = {N(FG_DEVPKI_DNS, "xmpp.example.net"),
                              N(FG_DEVPKI_SRV, "_xmpp-server.example.net"),
                              N(FG_DEVPKI_SRV, "_xmpp-client.example.net")};
  seed("srv_and_dns", "example.net", 0,
       (fg_devpki_spec){.cn = "xmpp.example.net", .names = srv_dns, .num_names = 3});

  fg_devpki_name xmpp[] = {N(FG_DEVPKI_XMPP, "im.example.org"), N(FG_DEVPKI_DNS, "*.example.org")};
  seed("xmppaddr_wildcard", "conference.example.org", 0,
       (fg_devpki_spec){.names = xmpp, .num_names = 2});

  fg_devpki_name idn[] = {N(FG_DEVPKI_XMPP,
                            "b\xc3\xbc"
                            "cher.example"),
                          N(FG_DEVPKI_DNS, "xn--bcher-kva.example")};
  seed("idn_xmppaddr", "xn--bcher-kva.example", 0, (fg_devpki_spec){.names = idn, .num_names = 2});

  seed("cn_only_legacy", "legacy.example", 2, (fg_devpki_spec){.cn = "legacy.example"});
  seed("two_cns_legacy", "b.example", 2, (fg_devpki_spec){.cn = "a.example", .cn2 = "b.example"});

  fg_devpki_name nul[] = {N(FG_DEVPKI_DNS, "good.example\0.evil.example"),
                          N(FG_DEVPKI_EMAIL, "admin@good.example"),
                          N(FG_DEVPKI_URI, "xmpp:good.example")};
  seed("nul_in_dnsname", "good.example", 2, (fg_devpki_spec){.names = nul, .num_names = 3});

  char bufs[50][32];
  fg_devpki_name many[50];
  for (int i = 0; i < 50; i++) {
    snprintf(bufs[i], sizeof(bufs[i]), "host%02d.example.com", i);
    many[i] = (fg_devpki_name){FG_DEVPKI_DNS, (const uint8_t *)bufs[i], strlen(bufs[i])};
  }
  seed("fifty_names", "host49.example.com", 0, (fg_devpki_spec){.names = many, .num_names = 50});

  static const uint8_t bad_srv[] = {0x30, 0x14, 0xa0, 0x12, 0x06, 0x08, 0x2b, 0x06,
                                    0x01, 0x05, 0x05, 0x07, 0x08, 0x07, 0xa0, 0x06,
                                    0x0c, 0x04, '_',  'x',  '.',  'a'};
  seed("srv_not_ia5", "a", 1, (fg_devpki_spec){.san_der = bad_srv, .san_der_len = sizeof(bad_srv)});

  fg_devpki_name client[] = {N(FG_DEVPKI_SRV, "_XMPP-Client.Example.COM."),
                             N(FG_DEVPKI_DNS, "-bad-.example.com"),
                             N(FG_DEVPKI_DNS, "f*.example.com")};
  seed("client_srv_mixed_case", "example.com", 1,
       (fg_devpki_spec){.names = client, .num_names = 3});

  EVP_PKEY_free(g_key);
  return 0;
}
