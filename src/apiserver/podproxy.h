/* podproxy.h - the HTTP front's half of pods/log, exec, attach, portforward (podproxy.c):
 * answer the client by relaying to the node agent that api_podproxy_prepare
 * chose.  Needs libmicrohttpd's types, so it is kept out of api-internal.h. */
#ifndef BERTH_APISERVER_PODPROXY_H
#define BERTH_APISERVER_PODPROXY_H
#include "api-internal.h"
#include "../shared/mhd-lazy.h"

enum MHD_Result api_podproxy_respond(struct MHD_Connection *mc, ApiProxy *p);

#endif
