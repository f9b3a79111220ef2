// abuse_reports.h: forwarding abuse reports (XEP-0377) from internal users
// to the abuse address of the reported sender's domain (XEP-0157).
//
// An internal user (or its server, e.g. a client's "report spam" button)
// sends a <message/> to the bare remote domain carrying a
// <report xmlns='urn:xmpp:reporting:1'/> (with the reported JID in
// <jid xmlns='urn:xmpp:jid:0'/>). With abuse.reports.enabled, fedgate does
// not hand it to that domain's server as is: it asks the domain for its
// server information (disco#info, the http://jabber.org/network/serverinfo
// form's abuse-addresses field) as LOCAL_DOMAIN/fedgate-abuse, and sends the
// message on to the first xmpp: abuse address. A domain without one, or no
// answer in 30 s, bounces the report to its sender (service-unavailable),
// so nothing is lost silently.
//
// A report belongs to the worker that took it (a per-worker list with a
// timer each); the disco answer, which may arrive on any worker, is handed
// to that worker by message.
#ifndef FEDGATE_GATEWAY_SERVER_ABUSE_REPORTS_H
#define FEDGATE_GATEWAY_SERVER_ABUSE_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/server/server_internal.h"
#include "gateway/xml/xml_types.h"

// FG_REPORTS_RESOURCE is the resource of the JID fedgate asks from.
#define FG_REPORTS_RESOURCE "fedgate-abuse"

// fg_reports_take takes stanza |el| (|data|, |len| bytes) that an internal
// server sends from |from_domain| to remote |to_domain| on worker |w| when it
// is an abuse report to the bare domain: it returns 1 (the report is then
// forwarded or bounced later), 0 for every other stanza.
int fg_reports_take(fg_server *srv, fg_worker *w, const fg_xml_element *el, const uint8_t *data,
                    size_t len, const char *from_domain, const char *to_domain);

// fg_reports_addressed says whether |to| (a raw 'to' attribute) is
// fedgate's own reporting JID (any hosted domain, resource fedgate-abuse).
int fg_reports_addressed(const uint8_t *to, size_t to_len);

// fg_reports_consume takes a stanza to the reporting JID: a disco#info
// answer goes to the report waiting for it. It returns
// FG_STANZA_CONDITION_COUNT when taken, or the condition to bounce a
// request with.
fg_stanza_condition fg_reports_consume(fg_server *srv, const fg_xml_element *el);

// fg_reports_take_bounce takes an error stanza (|data|, |len| bytes)
// fedgate generated for one of its own server information requests (the
// link to the domain failed): the report waiting for it is bounced. It
// returns 1 when taken.
int fg_reports_take_bounce(fg_server *srv, const uint8_t *data, size_t len);

// fg_reports_free_all frees the reports |ws| still holds (the server is
// being freed; its runtime is stopped).
void fg_reports_free_all(worker_state *ws);

#endif  // FEDGATE_GATEWAY_SERVER_ABUSE_REPORTS_H
