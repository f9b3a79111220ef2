// san.h: extracting a certificate's identifiers from its DER encoding.
//
// The parser walks the X.509 structure with BoringSSL's CBS (never printed
// X.509 strings, which is how CN-injection happens) and collects, into an
// |fg_cert_ids| (crypto/identity.h): every subjectAltName dNSName, otherName
// id-on-dnsSRV (RFC 4985, IA5String) and otherName id-on-xmppAddr (RFC 6120
// §13.7.1.4, UTF8String), and the subject commonName(s) for legacy mode.
#ifndef FEDGATE_CRYPTO_SAN_H
#define FEDGATE_CRYPTO_SAN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

// fg_san_parse_cert parses the DER certificate |der| and appends its
// identifiers to |ids| (normally freshly initialised). It returns 1 on
// success. It returns 0 when the certificate or its subjectAltName is
// malformed (not DER, wrong tags, an empty GeneralNames, a duplicate SAN
// extension, an SRV-ID that is not an IA5String, an XmppAddr that is not a
// UTF8String, more than FG_CERT_IDS_MAX names) or on allocation failure, and
// sets |*out_reason| (if not NULL) to a static string saying which. On
// failure |ids| may hold a partial result; the caller cleans it up as usual.
//
// A subject with more than one commonName yields CN identifiers that are all
// marked invalid: which one the CA vouched for is ambiguous.
int fg_san_parse_cert(fg_cert_ids *ids, const uint8_t *der, size_t der_len,
                      const char **out_reason);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_SAN_H
