// config_overlay.c: hosted domains added to or removed from a loaded
// snapshot at run time (the admin API's /domains/add and /domains/remove),
// checked with the same rules as the file's domains entries.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// find_domain returns the index of |name| (wildcard flag |wildcard|) in
// |cfg|, or cfg->n_domains.
static size_t find_domain(const fg_config *cfg, const char *name, int wildcard) {
  size_t i = 0;
  while (i < cfg->n_domains &&
         !(cfg->domains[i].wildcard == wildcard && strcmp(cfg->domains[i].name, name) == 0)) {
    i++;
  }
  return i;
}

// last_line copies the last diagnostic line of |d| into |err|.
static void last_line(const fg_config_diag *d, char *err, size_t err_len) {
  if (d->text == NULL || d->len == 0) {
    snprintf(err, err_len, "invalid");
    return;
  }
  size_t end = d->len - 1, start = end;
  while (start > 0 && d->text[start - 1] != '\n') start--;
  snprintf(err, err_len, "%.*s", (int)(end - start), d->text + start);
}

int fg_config_add_domain(fg_config *cfg, const char *origin, const char *name, const char *backend,
                         const char *cert_file, const char *key_file, char *err, size_t err_len) {
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  config_ctx c = {origin, &diag, {0}, cfg};
  int wildcard = 0, ok = 0;
  char *norm = config_normalize_domain(&c, "domain", name, 1, &wildcard);
  char *cert = NULL, *key = NULL;
  size_t b = 0;
  if (norm == NULL) goto done;
  if (find_domain(cfg, norm, wildcard) != cfg->n_domains) {
    config_err(&c, "domain", "%s%s is already hosted", wildcard ? "*." : "", norm);
    goto done;
  }
  while (b < cfg->n_backends && strcmp(cfg->backends[b].name, backend) != 0) b++;
  if (b == cfg->n_backends) {
    config_err(&c, "backend", "no backend has the name '%s'", backend);
    goto done;
  }
  if ((cert_file == NULL) != (key_file == NULL)) {
    config_err(&c, cert_file == NULL ? "cert" : "key", "cert and key must be given together");
    goto done;
  }
  if (cert_file != NULL && (cert_file[0] != '/' || key_file[0] != '/')) {
    // No configuration directory to be relative to.
    config_err(&c, cert_file[0] != '/' ? "cert" : "key", "must be an absolute path (value '%s')",
               cert_file[0] != '/' ? cert_file : key_file);
    goto done;
  }
  if (cert_file != NULL) {
    cert = strdup(cert_file);
    key = strdup(key_file);
    if (cert == NULL || key == NULL) goto done;
    if (!config_check_pair(&c, "cert", cert, "key", key)) goto done;
  } else if (cfg->tls.default_cert_file != NULL) {
    cert = strdup(cfg->tls.default_cert_file);
    key = strdup(cfg->tls.default_key_file);
    if (cert == NULL || key == NULL) goto done;
  } else {
    config_err(&c, "domain", "%s has no certificate: give cert and key, or tls.default_cert", norm);
    goto done;
  }
  fg_config_domain *grown = realloc(cfg->domains, (cfg->n_domains + 1) * sizeof(*grown));
  if (grown == NULL) goto done;
  cfg->domains = grown;
  fg_config_domain *d = &cfg->domains[cfg->n_domains++];
  memset(d, 0, sizeof(*d));
  d->name = norm;
  d->wildcard = wildcard;
  d->backend = b;
  d->cert_file = cert;
  d->key_file = key;
  norm = cert = key = NULL;
  ok = 1;
done:
  if (!ok) {
    if (diag.errors == 0) snprintf(err, err_len, "%s: out of memory", origin);
    if (diag.errors != 0) last_line(&diag, err, err_len);
  }
  free(norm);
  free(cert);
  free(key);
  fg_config_diag_cleanup(&diag);
  return ok;
}

int fg_config_remove_domain(fg_config *cfg, const char *origin, const char *name, char *err,
                            size_t err_len) {
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  config_ctx c = {origin, &diag, {0}, cfg};
  int wildcard = 0, ok = 0;
  char *norm = config_normalize_domain(&c, "domain", name, 1, &wildcard);
  if (norm != NULL) {
    size_t i = find_domain(cfg, norm, wildcard);
    if (i == cfg->n_domains) {
      config_err(&c, "domain", "%s%s is not hosted", wildcard ? "*." : "", norm);
    } else if (cfg->n_domains == 1) {
      config_err(&c, "domain", "%s is the last hosted domain", norm);
    } else {
      free(cfg->domains[i].name);
      free(cfg->domains[i].cert_file);
      free(cfg->domains[i].key_file);
      // Order is kept: the router and the SNI table are rebuilt from it.
      memmove(&cfg->domains[i], &cfg->domains[i + 1],
              (cfg->n_domains - i - 1) * sizeof(cfg->domains[0]));
      cfg->n_domains--;
      ok = 1;
    }
  }
  if (!ok) last_line(&diag, err, err_len);
  free(norm);
  fg_config_diag_cleanup(&diag);
  return ok;
}
