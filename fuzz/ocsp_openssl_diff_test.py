#!/usr/bin/python3
"""ocsp_openssl_diff_test.py: crypto/ocsp against OpenSSL on every OCSP seed.

Usage: ocsp_openssl_diff_test.py OCSP_PARSE_PRINT CORPUS_DIR

For each file of CORPUS_DIR (fuzz/corpus/ocsp_response_fuzzer), compares
what fuzz/ocsp_parse_print says crypto/ocsp makes of it with
`openssl ocsp -respin FILE -resp_text -noverify`: whether the response parses,
its responseStatus, the number of SingleResponses and each one's certStatus.
OpenSSL "parses" a response when it prints it; an unsuccessful status is
printed as "Responder Error: NAME (N)", and a successful response whose
responseBytes are missing or not a BasicOCSPResponse is an error.

Known differences, where OpenSSL is laxer by design and crypto/ocsp follows
RFC 6960 strictly; each is counted as agreement, and listed:
  - responseStatus values RFC 6960 §4.2.1 does not define (4, 7 and up):
    OpenSSL prints "(UNKNOWN)", crypto/ocsp rejects the response;
  - a GeneralizedTime (producedAt, thisUpdate, nextUpdate, revocationTime)
    whose contents are not a time: OpenSSL decodes the string without
    checking it and prints "Bad time value", crypto/ocsp rejects;
  - responseBytes in an unsuccessful response (RFC 6960 §4.2.1 has them only
    with successful): OpenSSL ignores them, crypto/ocsp rejects;
  - a nonce extension whose value is not an OCTET STRING (RFC 8954 §2.1):
    OpenSSL prints the raw value, crypto/ocsp rejects.
Any other difference fails. One case per file; ends with "N passed, M failed".
"""
import os
import re
import subprocess
import sys

DEFINED_STATUS = {0, 1, 2, 3, 5, 6}


def openssl_view(path):
    """('parsed', status, [cert statuses]) or ('rejected', why)."""
    p = subprocess.run(["openssl", "ocsp", "-respin", path, "-resp_text", "-noverify"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, errors="replace")
    out = p.stdout
    openssl_view.text = out
    m = re.search(r"^Responder Error: .*\((\d+)\)\s*$", out, re.M)
    if m:
        return ("parsed", int(m.group(1)), [])
    if "Error reading OCSP response" in out or "Error parsing response" in out:
        return ("rejected", out.strip().splitlines()[0])
    m = re.search(r"OCSP Response Status: .*\(0x([0-9a-f]+)\)", out)
    if not m or p.returncode != 0:
        return ("rejected", "exit %d: %s" % (p.returncode, out.strip()[:200]))
    return ("parsed", int(m.group(1), 16), re.findall(r"^\s*Cert Status: (\w+)", out, re.M))


def known_laxness(o, f, text):
    """Why a difference is one of the documented ones (else None)."""
    if o[0] != "parsed" or f[0] != "rejected":
        return None
    if o[1] not in DEFINED_STATUS:
        return "undefined status %d" % o[1]
    if re.match(r"malformed (producedAt|thisUpdate|nextUpdate|revocationTime)$", f[1]) and \
            "Bad time value" in text:
        return "bad GeneralizedTime (%s)" % f[1].split()[1]
    if f[1] == "responseBytes in an unsuccessful response" and o[1] != 0:
        return "responseBytes with status %d" % o[1]
    if f[1] == "nonce is not an OCTET STRING" and "OCSP Nonce:" in text:
        return "nonce value not an OCTET STRING"
    return None


def fedgate_view(tool, path):
    out = subprocess.run([tool, path], stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout.split()
    if out[1] == "rejected":
        return ("rejected", " ".join(out[2:]))
    n = int(out[3])
    return ("parsed", int(out[2]), out[4:4 + n])


def main(argv):
    tool, corpus = argv[1], argv[2]
    files = sorted(os.listdir(corpus))
    passed = failed = 0
    for name in files:
        path = os.path.join(corpus, name)
        o, f = openssl_view(path), fedgate_view(tool, path)
        if o[0] == f[0] == "parsed" and o[1:] == f[1:]:
            passed += 1
            print("ok   %s: parsed, status %d, %s" % (name, o[1], " ".join(o[2]) or "-"))
        elif o[0] == f[0] == "rejected":
            passed += 1
            print("ok   %s: rejected (crypto/ocsp: %s)" % (name, f[1]))
        elif known_laxness(o, f, openssl_view.text):
            passed += 1
            print("ok   %s: %s, OpenSSL laxer (known)" % (name, known_laxness(o, f, openssl_view.text)))
        else:
            failed += 1
            print("FAIL %s: openssl %s, crypto/ocsp %s" % (name, o, f))
    if not files:
        failed += 1
        print("FAIL no files in %s" % corpus)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
