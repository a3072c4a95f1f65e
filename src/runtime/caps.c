/* caps.c - Linux capabilities: names, Docker's default set, and applying the
 * five OCI sets (bounding, effective, permitted, inheritable, ambient).
 *
 * Names are resolved and the E/P/I sets built with libcap in the parent; the
 * child only calls libcap's syscall wrappers on the prepared cap_t (no
 * allocation between fork and exec).  Capabilities newer than the running
 * kernel are dropped from the sets silently, as Docker does. */
#include "spawn-internal.h"
#include <ctype.h>
#include <string.h>
#include <sys/prctl.h>
#include "../shared/json.h"

const char *const rt_default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	NULL,
};

/* Index = capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *rt_cap_name(int cap)
{
	return cap >= 0 && (size_t)cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int rt_cap_last(void)
{
	static int last = -1;
	if (last < 0) {
		int n = (int)cap_max_bits() - 1;
		last = n >= 0 && n <= 63 ? n : (int)ARRAY_SIZE(cap_names) - 1;
	}
	return last;
}

int rt_cap_from_name(const char *name)
{
	char buf[64] = "cap_";
	if (!name)
		return -EINVAL;
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	size_t n = strlen(name);
	if (n == 0 || n + 5 > sizeof(buf) || !isalpha((unsigned char)name[0]))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		buf[4 + i] = (char)tolower((unsigned char)name[i]);
	buf[4 + n] = 0;
	cap_value_t v;
	if (cap_from_name(buf, &v) < 0 || v < 0 || v > 63)
		return -EINVAL;
	return (int)v;
}

static int cap_set_from(const json_t *caps, const char *key, int last_cap, uint64_t *ret, Error **err)
{
	const json_t *arr = json_object_get(caps, key);
	size_t i;
	json_t *v;
	*ret = 0;
	if (arr && !json_is_array(arr))
		return err_set(err, EINVAL, "capabilities.%s must be an array", key);
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		int c = rt_cap_from_name(name);
		if (c < 0)
			return err_set(err, EINVAL, "capabilities.%s: unknown capability '%s'", key, name ? name : "?");
		if (c <= last_cap)
			*ret |= UINT64_C(1) << c;
	}
	return 0;
}

static int set_flag(cap_t c, cap_flag_t which, uint64_t mask, Error **err)
{
	for (cap_value_t v = 0; v < 64; v++)
		if ((mask >> v & 1) && cap_set_flag(c, which, 1, &v, CAP_SET) < 0)
			return err_sys(err, errno, "capability %d", v);
	return 0;
}

int rt_caps_parse(const json_t *caps, RtCaps *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return err_set(err, EINVAL, "capabilities must be an object");
	ret->last_cap = rt_cap_last();
	uint64_t eff, perm, inh;
	int r;
	if ((r = cap_set_from(caps, "bounding", ret->last_cap, &ret->bounding, err)) < 0 ||
	    (r = cap_set_from(caps, "effective", ret->last_cap, &eff, err)) < 0 ||
	    (r = cap_set_from(caps, "permitted", ret->last_cap, &perm, err)) < 0 ||
	    (r = cap_set_from(caps, "inheritable", ret->last_cap, &inh, err)) < 0 ||
	    (r = cap_set_from(caps, "ambient", ret->last_cap, &ret->ambient, err)) < 0)
		return r;
	ret->eip = cap_init();
	if (!ret->eip)
		return err_sys(err, errno, "cap_init");
	ret->set = true;
	if ((r = set_flag(ret->eip, CAP_EFFECTIVE, eff, err)) < 0 ||
	    (r = set_flag(ret->eip, CAP_PERMITTED, perm, err)) < 0 ||
	    (r = set_flag(ret->eip, CAP_INHERITABLE, inh, err)) < 0)
		return r;
	return 0;
}

void rt_caps_release(RtCaps *c)
{
	if (c->eip)
		cap_free(c->eip);
	memset(c, 0, sizeof(*c));
}

int rt_caps_drop_bounding(const RtCaps *c, RtChildErr *e)
{
	if (!c->set)
		return 0;
	for (int v = 0; v <= c->last_cap; v++) {
		if (c->bounding >> v & 1)
			continue;
		if (cap_drop_bound((cap_value_t)v) < 0 && errno != EINVAL)
			return rt_cerr_sys(e, errno, "drop capability %d from the bounding set", v);
	}
	return 0;
}

int rt_caps_apply(const RtCaps *c, RtChildErr *e)
{
	if (!c->set)
		return 0;
	if (cap_set_proc(c->eip) < 0)
		return rt_cerr_sys(e, errno, "set capabilities");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return rt_cerr_sys(e, errno, "clear the ambient capabilities");
	for (int v = 0; v <= c->last_cap; v++)
		if ((c->ambient >> v & 1) && cap_set_ambient((cap_value_t)v, CAP_SET) < 0)
			return rt_cerr_sys(e, errno, "raise ambient capability %d", v);
	return 0;
}
