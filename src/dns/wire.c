/* wire.c - the DNS message wire format (RFC 1035 §4), parsed defensively
 * because every byte comes from the network: all reads are bounds-checked,
 * a compression pointer must point strictly before the name that uses it (so
 * no loop can form) and at most DNS_MAX_JUMPS are followed, labels are at
 * most 63 bytes and names 255, and section counts are capped.  The encoder
 * compresses names against the suffixes already written and truncates
 * (setting TC) at a record boundary when the message would exceed max_len.
 */
#include "dns.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DNS_MAX_JUMPS 64
#define MAX_COMP 128

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

int dns_name_decode(const uint8_t *buf, size_t len, size_t *off, char out[DNS_NAME_MAX + 1])
{
	size_t pos = *off, o = 0, end = 0;
	size_t limit = *off;  /* pointers must go strictly below this */
	int jumps = 0;
	bool jumped = false;
	out[0] = '\0';
	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t l = buf[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return -EBADMSG;
			size_t ptr = (size_t)(l & 0x3f) << 8 | buf[pos + 1];
			if (ptr >= limit)
				return -EBADMSG;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			limit = ptr;
			pos = ptr;
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG;  /* 0x40 / 0x80: extended label types, not supported */
		if (l == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (pos + 1 + l > len)
			return -EBADMSG;
		if (o + (o ? 1 : 0) + l > DNS_NAME_MAX)
			return -EBADMSG;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)buf[pos + 1 + i];
			if (c == '.' || c == '\0')
				return -EBADMSG;  /* not representable in presentation form here */
			out[o++] = c;
		}
		out[o] = '\0';
		pos += 1 + l;
	}
	*off = end;
	return 0;
}

static int parse_rr(const uint8_t *buf, size_t len, size_t *off, DnsRR *rr)
{
	memset(rr, 0, sizeof(*rr));
	if (dns_name_decode(buf, len, off, rr->name) < 0 || *off + 10 > len)
		return -EBADMSG;
	const uint8_t *p = buf + *off;
	rr->type = rd16(p);
	rr->cls = rd16(p + 2);
	rr->ttl = rd32(p + 4);
	size_t rdlen = rd16(p + 8);
	size_t rd = *off + 10;
	if (rd + rdlen > len)
		return -EBADMSG;
	*off = rd + rdlen;
	size_t o = rd;
	switch (rr->type) {
	case DNS_A:
		if (rdlen != 4)
			return -EBADMSG;
		memcpy(rr->rd.a, buf + rd, 4);
		return 0;
	case DNS_AAAA:
		if (rdlen != 16)
			return -EBADMSG;
		memcpy(rr->rd.aaaa, buf + rd, 16);
		return 0;
	case DNS_CNAME:
	case DNS_PTR:
	case DNS_NS:
		if (dns_name_decode(buf, rd + rdlen, &o, rr->rd.target) < 0 || o != rd + rdlen)
			return -EBADMSG;
		return 0;
	case DNS_SRV:
		if (rdlen < 7)
			return -EBADMSG;
		rr->rd.srv.prio = rd16(buf + rd);
		rr->rd.srv.weight = rd16(buf + rd + 2);
		rr->rd.srv.port = rd16(buf + rd + 4);
		o = rd + 6;
		if (dns_name_decode(buf, rd + rdlen, &o, rr->rd.srv.target) < 0 || o != rd + rdlen)
			return -EBADMSG;
		return 0;
	case DNS_SOA:
		if (dns_name_decode(buf, rd + rdlen, &o, rr->rd.soa.mname) < 0 ||
		    dns_name_decode(buf, rd + rdlen, &o, rr->rd.soa.rname) < 0 || o + 20 != rd + rdlen)
			return -EBADMSG;
		rr->rd.soa.serial = rd32(buf + o);
		rr->rd.soa.refresh = rd32(buf + o + 4);
		rr->rd.soa.retry = rd32(buf + o + 8);
		rr->rd.soa.expire = rd32(buf + o + 12);
		rr->rd.soa.minimum = rd32(buf + o + 16);
		return 0;
	default:
		if (rdlen > sizeof(rr->raw))
			return -EBADMSG;
		memcpy(rr->raw, buf + rd, rdlen);
		rr->rawlen = (uint16_t)rdlen;
		return 0;
	}
}

int dns_parse(const uint8_t *buf, size_t len, DnsMsg *m, Error **err)
{
	memset(m, 0, sizeof(*m));
	if (len < 12)
		return err_set(err, EBADMSG, "DNS message: %zu bytes, shorter than a header", len);
	m->id = rd16(buf);
	m->flags = rd16(buf + 2);
	m->qdcount = rd16(buf + 4);
	m->ancount = rd16(buf + 6);
	m->nscount = rd16(buf + 8);
	m->arcount = rd16(buf + 10);
	if (m->qdcount > DNS_MAX_QD || m->ancount > DNS_MAX_RR || m->nscount > DNS_MAX_RR || m->arcount > DNS_MAX_RR)
		return err_set(err, EBADMSG, "DNS message %u: too many records", m->id);
	size_t off = 12;
	for (int i = 0; i < m->qdcount; i++) {
		DnsQuestion *q = &m->qd[i];
		if (dns_name_decode(buf, len, &off, q->name) < 0 || off + 4 > len)
			return err_set(err, EBADMSG, "DNS message %u: bad question %d", m->id, i);
		q->type = rd16(buf + off);
		q->cls = rd16(buf + off + 2);
		off += 4;
	}
	struct { int n; DnsRR *v; const char *what; } sec[] = {
		{ m->ancount, m->an, "answer" }, { m->nscount, m->ns, "authority" }, { m->arcount, m->ar, "additional" } };
	for (size_t s = 0; s < 3; s++)
		for (int i = 0; i < sec[s].n; i++)
			if (parse_rr(buf, len, &off, &sec[s].v[i]) < 0)
				return err_set(err, EBADMSG, "DNS message %u: bad %s record %d", m->id, sec[s].what, i);
	return 0;
}

/* ---- encoder ---- */

typedef struct {
	uint8_t *buf;
	size_t cap, len;
	bool full;
	/* compression table: offsets of names (suffixes) written so far */
	size_t comp_off[MAX_COMP];
	int ncomp;
} Enc;

static void put(Enc *e, const void *p, size_t n)
{
	if (e->full || e->len + n > e->cap) {
		e->full = true;
		return;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}
static void put16(Enc *e, uint16_t v) { put(e, (uint8_t[]){ (uint8_t)(v >> 8), (uint8_t)v }, 2); }
static void put32(Enc *e, uint32_t v)
{
	put(e, (uint8_t[]){ (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v }, 4);
}

bool dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && !strncasecmp(a, b, la);
}

bool dns_name_in_zone(const char *name, const char *zone)
{
	size_t ln = strlen(name), lz = strlen(zone);
	if (ln && name[ln - 1] == '.')
		ln--;
	if (lz && zone[lz - 1] == '.')
		lz--;
	if (!lz)
		return true;
	if (ln < lz || strncasecmp(name + ln - lz, zone, lz))
		return false;
	return ln == lz || name[ln - lz - 1] == '.';
}

/* Does the (uncompressed presentation) suffix s match the name written at off? */
static bool wire_matches(const Enc *e, size_t off, const char *s)
{
	char tmp[DNS_NAME_MAX + 1];
	size_t o = off;
	if (dns_name_decode(e->buf, e->len, &o, tmp) < 0)
		return false;
	return dns_name_eq(tmp, s);
}

static void put_name(Enc *e, const char *name)
{
	const char *s = name;
	while (*s && !e->full) {
		for (int i = 0; i < e->ncomp; i++)
			if (wire_matches(e, e->comp_off[i], s)) {
				put16(e, (uint16_t)(0xc000 | e->comp_off[i]));
				return;
			}
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63) {
			e->full = true;  /* unencodable: treat as not fitting */
			return;
		}
		if (e->len < 0x3fff && e->ncomp < MAX_COMP)
			e->comp_off[e->ncomp++] = e->len;
		uint8_t lb = (uint8_t)l;
		put(e, &lb, 1);
		put(e, s, l);
		s += l + (dot ? 1 : 0);
		if (!dot)
			break;
	}
	put(e, "", 1);
}

static void put_rr(Enc *e, const DnsRR *rr)
{
	put_name(e, rr->name);
	put16(e, rr->type);
	put16(e, rr->cls);
	put32(e, rr->ttl);
	size_t lenpos = e->len;
	put16(e, 0);
	size_t start = e->len;
	switch (rr->type) {
	case DNS_A: put(e, rr->rd.a, 4); break;
	case DNS_AAAA: put(e, rr->rd.aaaa, 16); break;
	case DNS_CNAME:
	case DNS_PTR:
	case DNS_NS: put_name(e, rr->rd.target); break;
	case DNS_SRV:
		put16(e, rr->rd.srv.prio);
		put16(e, rr->rd.srv.weight);
		put16(e, rr->rd.srv.port);
		put_name(e, rr->rd.srv.target);  /* RFC 2782: no compression required; compressing is accepted */
		break;
	case DNS_SOA:
		put_name(e, rr->rd.soa.mname);
		put_name(e, rr->rd.soa.rname);
		put32(e, rr->rd.soa.serial);
		put32(e, rr->rd.soa.refresh);
		put32(e, rr->rd.soa.retry);
		put32(e, rr->rd.soa.expire);
		put32(e, rr->rd.soa.minimum);
		break;
	default: put(e, rr->raw, rr->rawlen); break;
	}
	if (!e->full) {
		size_t n = e->len - start;
		e->buf[lenpos] = (uint8_t)(n >> 8);
		e->buf[lenpos + 1] = (uint8_t)n;
	}
}

int dns_encode(const DnsMsg *m, uint8_t *buf, size_t cap, size_t max_len)
{
	Enc e = { .buf = buf, .cap = cap < max_len ? cap : max_len };
	put16(&e, m->id);
	put16(&e, m->flags);
	put16(&e, (uint16_t)m->qdcount);
	for (int i = 0; i < 3; i++)
		put16(&e, 0);  /* counts fixed up below */
	for (int i = 0; i < m->qdcount; i++) {
		put_name(&e, m->qd[i].name);
		put16(&e, m->qd[i].type);
		put16(&e, m->qd[i].cls);
	}
	if (e.full)
		return -EMSGSIZE;
	const struct { int n; const DnsRR *v; } sec[] = { { m->ancount, m->an }, { m->nscount, m->ns }, { m->arcount, m->ar } };
	bool truncated = false;
	for (size_t s = 0; s < 3 && !truncated; s++) {
		int written = 0;
		for (int i = 0; i < sec[s].n; i++) {
			size_t mark = e.len;
			int ncomp = e.ncomp;
			put_rr(&e, &sec[s].v[i]);
			if (e.full) {
				e.len = mark;
				e.ncomp = ncomp;
				e.full = false;
				truncated = s < 2;  /* a dropped additional record is not truncation (RFC 2181 §9) */
				break;
			}
			written++;
		}
		buf[6 + 2 * s] = (uint8_t)(written >> 8);
		buf[7 + 2 * s] = (uint8_t)written;
	}
	if (truncated) {
		buf[2] |= DNS_F_TC >> 8;
		buf[8] = buf[9] = buf[10] = buf[11] = 0;
	}
	return (int)e.len;
}
