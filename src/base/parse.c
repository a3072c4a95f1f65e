/* parse.c - see parse.h. */
#include "parse.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

int parse_int64(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_size(const char *s, int64_t *ret)
{
	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	double mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 0: break;
	case 'b': mul = 1; end++; break;
	case 'k': mul = 1024.0; end++; break;
	case 'm': mul = 1024.0 * 1024; end++; break;
	case 'g': mul = 1024.0 * 1024 * 1024; end++; break;
	case 't': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: return -EINVAL;
	}
	if (mul > 1 && tolower((unsigned char)*end) == 'b')
		end++; /* "kb", "mb", ... */
	if (*end)
		return -EINVAL;
	double bytes = v * mul;
	if (bytes > (double)INT64_MAX)
		return -ERANGE;
	*ret = (int64_t)bytes;
	return 0;
}

int parse_cpus(const char *s, int64_t *ret_milli)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || v < 0 || v > 1e6 || isnan(v))
		return -EINVAL;
	*ret_milli = (int64_t)llround(v * 1000);
	return 0;
}

int parse_duration_ms(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return -EINVAL;
	int64_t total = 0;
	const char *p = s;
	bool any = false;
	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p || v < 0)
			return -EINVAL;
		p = end;
		double mul;
		if (!*p && !any) {
			mul = 1000; /* plain number: seconds */
		} else if (!strncmp(p, "ms", 2)) {
			mul = 1; p += 2;
		} else if (*p == 's') {
			mul = 1000; p++;
		} else if (*p == 'm') {
			mul = 60000; p++;
		} else if (*p == 'h') {
			mul = 3600000; p++;
		} else {
			return -EINVAL;
		}
		total += (int64_t)(v * mul);
		any = true;
	}
	*ret = total;
	return 0;
}

static const struct { const char *name; int sig; } signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int parse_signal(const char *s, int *ret)
{
	if (!s || !*s)
		return -EINVAL;
	int64_t n;
	if (parse_int64(s, &n) == 0) {
		if (n <= 0 || n > 64)
			return -EINVAL;
		*ret = (int)n;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(s, signals[i].name)) {
			*ret = signals[i].sig;
			return 0;
		}
	return -EINVAL;
}

const char *signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return "?";
}

void random_hex_id(char out[65])
{
	unsigned char raw[32];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r > 0)
			got += (size_t)r;
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[64] = 0;
}

void format_rfc3339nano(char *buf, size_t n, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec == 0) {
		snprintf(buf, n, "%sZ", base);
		return;
	}
	char frac[16];
	snprintf(frac, sizeof(frac), "%09ld", nsec);
	for (int i = 8; i > 0 && frac[i] == '0'; i--)
		frac[i] = 0; /* Go trims trailing zeros in RFC3339Nano */
	snprintf(buf, n, "%s.%sZ", base, frac);
}

void format_age(char *buf, size_t n, int64_t s)
{
	if (s < 1)
		snprintf(buf, n, "Less than a second");
	else if (s < 60)
		snprintf(buf, n, "%lld second%s", (long long)s, s == 1 ? "" : "s");
	else if (s < 3600)
		snprintf(buf, n, "%lld minute%s", (long long)(s / 60), s / 60 == 1 ? "" : "s");
	else if (s < 48 * 3600)
		snprintf(buf, n, "%lld hour%s", (long long)(s / 3600), s / 3600 == 1 ? "" : "s");
	else if (s < 14 * 86400)
		snprintf(buf, n, "%lld days", (long long)(s / 86400));
	else
		snprintf(buf, n, "%lld weeks", (long long)(s / (7 * 86400)));
}

void format_size_human(char *buf, size_t n, int64_t bytes)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%lldB", (long long)bytes);
	else
		snprintf(buf, n, "%.3g%s", v, units[u]);
}

bool str_is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

bool str_has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}
