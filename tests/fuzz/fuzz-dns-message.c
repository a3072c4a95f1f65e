/* fuzz-dns-message.c - the DNS wire parser fed arbitrary bytes (what the
 * cluster DNS server reads from the network).  Beyond sanitizer findings it
 * checks that a parsed message re-encodes, that the re-encoded bytes parse to
 * the same questions and counts, that the answerer handles any question, and
 * that the encoder never writes past its limit. */
#include "../../src/dns/dns.h"
#include "../../src/base/cleanup.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *no_service(void *ud, const char *ns, const char *name)
{
	(void)ud, (void)ns, (void)name;
	return NULL;
}
static json_t *no_slices(void *ud, const char *ns)
{
	(void)ud, (void)ns;
	return json_array();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DnsMsg *m = xcalloc(1, sizeof(*m)), *d = xcalloc(1, sizeof(*d)), *r = xcalloc(1, sizeof(*r));
	Error *err = NULL;
	if (dns_parse(data, size, m, &err) == 0) {
		uint8_t out[65536 + 16];
		memset(out + 65536, 0xa5, 16);
		int n = dns_encode(m, out, 65536, 65536);
		if (n > 65536 || out[65536] != 0xa5)
			abort();
		if (n > 0) {
			if (dns_parse(out, (size_t)n, d, &err) < 0)
				abort();
			if (d->qdcount != m->qdcount || (d->qdcount && !dns_name_eq(d->qd[0].name, m->qd[0].name)))
				abort();
		}
		n = dns_encode(m, out, sizeof(out), DNS_UDP_MAX);
		if (n > DNS_UDP_MAX)
			abort();
		DnsSource src = { .get_service = no_service, .list_slices = no_slices, .domain = "cluster.local" };
		if (m->qdcount)
			dns_answer(&src, m, r);
	}
	err_free(err);
	free(m);
	free(d);
	free(r);
	return 0;
}
