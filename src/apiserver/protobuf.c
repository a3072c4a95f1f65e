/* protobuf.c - reading the Kubernetes protobuf wire format into JSON.
 *
 * kubectl >= 1.32 sends typed creates (`kubectl create namespace|configmap|
 * secret|deployment|token ...`) as application/vnd.kubernetes.protobuf: the
 * magic "k8s\0" and a runtime.Unknown {typeMeta{apiVersion, kind}, raw}
 * whose raw bytes are the object's generated protobuf message.  This file
 * decodes those messages with a small schema table (field number -> JSON
 * name and type) for the kinds kubectl creates that way; unknown fields are
 * skipped, unknown kinds are refused (415, after which the caller may resend
 * JSON).  Every length is checked against the remaining input; nesting is
 * bounded.  Responses are always JSON, which kubectl accepts.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

/* "num:jsonName:type[:Message]" with type s string, i int, b bool, y bytes
 * (base64), n int and o bool that are pointers in Go (kept when zero; plain
 * zero values, empty strings and false are what Go's JSON omits), m message, M map<string,string>, Y map<string,bytes>,
 * Q map<string,Quantity>, T Time, I IntOrString, q Quantity; a leading '*'
 * marks a repeated field. */
typedef struct PbMessage {
	const char *name;
	const char *fields;
} PbMessage;

static const PbMessage schema[] = {
	{ "ObjectMeta", "1:name:s 2:generateName:s 3:namespace:s 5:uid:s 6:resourceVersion:s 7:generation:i "
			"8:creationTimestamp:T 9:deletionTimestamp:T 10:deletionGracePeriodSeconds:n 11:labels:M "
			"12:annotations:M 13:ownerReferences:*m:OwnerReference 14:finalizers:*s" },
	{ "OwnerReference", "1:kind:s 3:name:s 4:uid:s 5:apiVersion:s 6:controller:o 7:blockOwnerDeletion:o" },
	{ "LabelSelector", "1:matchLabels:M 2:matchExpressions:*m:LabelSelectorRequirement" },
	{ "LabelSelectorRequirement", "1:key:s 2:operator:s 3:values:*s" },
	{ "Namespace", "1:metadata:m:ObjectMeta 2:spec:m:NamespaceSpec" },
	{ "NamespaceSpec", "1:finalizers:*s" },
	{ "ConfigMap", "1:metadata:m:ObjectMeta 2:data:M 3:binaryData:Y 4:immutable:o" },
	{ "Secret", "1:metadata:m:ObjectMeta 2:data:Y 3:type:s 4:stringData:M 5:immutable:o" },
	{ "ServiceAccount", "1:metadata:m:ObjectMeta 2:secrets:*m:ObjectReference 3:imagePullSecrets:*m:LocalObjectReference "
			    "4:automountServiceAccountToken:o" },
	{ "ObjectReference", "1:kind:s 2:namespace:s 3:name:s 4:uid:s 5:apiVersion:s 6:resourceVersion:s 7:fieldPath:s" },
	{ "LocalObjectReference", "1:name:s" },
	{ "TokenRequest", "1:metadata:m:ObjectMeta 2:spec:m:TokenRequestSpec" },
	{ "TokenRequestSpec", "1:audiences:*s 4:expirationSeconds:n 3:boundObjectRef:m:BoundObjectReference" },
	{ "BoundObjectReference", "1:kind:s 2:apiVersion:s 3:name:s 4:uid:s" },
	{ "ClusterRoleBinding", "1:metadata:m:ObjectMeta 2:subjects:*m:Subject 3:roleRef:m:RoleRef" },
	{ "RoleBinding", "1:metadata:m:ObjectMeta 2:subjects:*m:Subject 3:roleRef:m:RoleRef" },
	{ "Subject", "1:kind:s 2:apiGroup:s 3:name:s 4:namespace:s" },
	{ "RoleRef", "1:apiGroup:s 2:kind:s 3:name:s" },
	{ "Role", "1:metadata:m:ObjectMeta 2:rules:*m:PolicyRule" },
	{ "ClusterRole", "1:metadata:m:ObjectMeta 2:rules:*m:PolicyRule" },
	{ "PolicyRule", "1:verbs:*s 2:apiGroups:*s 3:resources:*s 4:resourceNames:*s 5:nonResourceURLs:*s" },
	{ "Service", "1:metadata:m:ObjectMeta 2:spec:m:ServiceSpec" },
	{ "ServiceSpec", "1:ports:*m:ServicePort 2:selector:M 3:clusterIP:s 18:clusterIPs:*s 4:type:s 5:externalIPs:*s "
			 "7:sessionAffinity:s 10:externalName:s 11:externalTrafficPolicy:s 19:ipFamilies:*s "
			 "17:ipFamilyPolicy:s 22:internalTrafficPolicy:s" },
	{ "ServicePort", "1:name:s 2:protocol:s 6:appProtocol:s 3:port:i 4:targetPort:I 5:nodePort:i" },
	{ "Pod", "1:metadata:m:ObjectMeta 2:spec:m:PodSpec" },
	{ "PodTemplateSpec", "1:metadata:m:ObjectMeta 2:spec:m:PodSpec" },
	{ "PodSpec", "20:initContainers:*m:Container 2:containers:*m:Container 3:restartPolicy:s "
		     "4:terminationGracePeriodSeconds:n 5:activeDeadlineSeconds:n 6:dnsPolicy:s 7:nodeSelector:M "
		     "8:serviceAccountName:s 9:serviceAccount:s 10:nodeName:s 11:hostNetwork:b "
		     "15:imagePullSecrets:*m:LocalObjectReference 16:hostname:s 17:subdomain:s 19:schedulerName:s "
		     "24:priorityClassName:s 30:enableServiceLinks:o" },
	{ "Container", "1:name:s 2:image:s 3:command:*s 4:args:*s 5:workingDir:s 6:ports:*m:ContainerPort "
		       "7:env:*m:EnvVar 8:resources:m:ResourceRequirements 13:terminationMessagePath:s "
		       "20:terminationMessagePolicy:s 14:imagePullPolicy:s 16:stdin:b 17:stdinOnce:b 18:tty:b" },
	{ "ContainerPort", "1:name:s 2:hostPort:i 3:containerPort:i 4:protocol:s 5:hostIP:s" },
	{ "EnvVar", "1:name:s 2:value:s" },
	{ "ResourceRequirements", "1:limits:Q 2:requests:Q" },
	{ "Deployment", "1:metadata:m:ObjectMeta 2:spec:m:DeploymentSpec" },
	{ "DeploymentSpec", "1:replicas:n 2:selector:m:LabelSelector 3:template:m:PodTemplateSpec "
			    "4:strategy:m:DeploymentStrategy 5:minReadySeconds:i 6:revisionHistoryLimit:n 7:paused:b "
			    "9:progressDeadlineSeconds:n" },
	{ "DeploymentStrategy", "1:type:s 2:rollingUpdate:m:RollingUpdateDeployment" },
	{ "RollingUpdateDeployment", "1:maxUnavailable:I 2:maxSurge:I" },
	{ "Job", "1:metadata:m:ObjectMeta 2:spec:m:JobSpec" },
	{ "JobSpec", "1:parallelism:n 2:completions:n 3:activeDeadlineSeconds:n 7:backoffLimit:n "
		     "4:selector:m:LabelSelector 5:manualSelector:o 6:template:m:PodTemplateSpec "
		     "8:ttlSecondsAfterFinished:n 9:completionMode:s 10:suspend:o" },
	{ "CronJob", "1:metadata:m:ObjectMeta 2:spec:m:CronJobSpec" },
	{ "CronJobSpec", "1:schedule:s 8:timeZone:s 2:startingDeadlineSeconds:n 3:concurrencyPolicy:s 4:suspend:o "
			 "5:jobTemplate:m:JobTemplateSpec 6:successfulJobsHistoryLimit:n 7:failedJobsHistoryLimit:n" },
	{ "JobTemplateSpec", "1:metadata:m:ObjectMeta 2:spec:m:JobSpec" },
	{ "Scale", "1:metadata:m:ObjectMeta 2:spec:m:ScaleSpec" },
	{ "ScaleSpec", "1:replicas:n" },
};

typedef struct Rd {
	const uint8_t *p, *end;
} Rd;

static int rd_varint(Rd *r, uint64_t *ret)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -EINVAL;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* One field header and, for length-delimited fields, its bytes. */
static int rd_field(Rd *r, int *num, int *wire, Rd *sub, uint64_t *val)
{
	uint64_t key;
	if (rd_varint(r, &key) < 0 || key >> 3 == 0 || key >> 3 > 1000000)
		return -EINVAL;
	*num = (int)(key >> 3);
	*wire = (int)(key & 7);
	switch (*wire) {
	case 0:
		return rd_varint(r, val);
	case 1:
		if (r->end - r->p < 8)
			return -EINVAL;
		r->p += 8;
		return 0;
	case 5:
		if (r->end - r->p < 4)
			return -EINVAL;
		r->p += 4;
		return 0;
	case 2: {
		uint64_t n;
		if (rd_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
			return -EINVAL;
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static const PbMessage *find_message(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(schema); i++)
		if (!strcmp(schema[i].name, name))
			return &schema[i];
	return NULL;
}

typedef struct Field {
	char name[64], type[4], msg[64];
	bool repeated;
} Field;

static bool find_field(const PbMessage *m, int num, Field *f)
{
	for (const char *p = m->fields; *p;) {
		size_t n = strcspn(p, " ");
		char spec[160];
		snprintf(spec, sizeof(spec), "%.*s", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
		char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || atoi(spec) != num)
			continue;
		*c1 = *c2 = 0;
		snprintf(f->name, sizeof(f->name), "%s", c1 + 1);
		char *t = c2 + 1, *c3 = strchr(t, ':');
		if (c3)
			*c3 = 0;
		f->repeated = *t == '*';
		snprintf(f->type, sizeof(f->type), "%s", t + f->repeated);
		snprintf(f->msg, sizeof(f->msg), "%s", c3 ? c3 + 1 : "");
		return true;
	}
	return false;
}

static json_t *str_of(Rd *r)
{
	return json_stringn((const char *)r->p, (size_t)(r->end - r->p));
}

static json_t *b64_of(Rd *r)
{
	size_t n = (size_t)(r->end - r->p);
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, r->p, (int)n);
	json_t *s = json_string(o);
	free(o);
	return s;
}

static json_t *decode_message(const PbMessage *m, Rd *r, int depth);

/* Time {seconds, nanos} as RFC 3339. */
static json_t *time_of(Rd *r)
{
	int64_t secs = 0;
	int num, wire;
	Rd sub;
	uint64_t v;
	while (r->p < r->end) {
		if (rd_field(r, &num, &wire, &sub, &v) < 0)
			return NULL;
		if (num == 1 && wire == 0)
			secs = (int64_t)v;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	char buf[40];
	if (!gmtime_r(&t, &tm))
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *int_or_string(Rd *r)
{
	int64_t type = 0, iv = 0;
	json_t *sv = NULL;
	int num, wire;
	Rd sub;
	uint64_t v;
	while (r->p < r->end) {
		if (rd_field(r, &num, &wire, &sub, &v) < 0) {
			json_decref(sv);
			return NULL;
		}
		if (num == 1 && wire == 0)
			type = (int64_t)v;
		else if (num == 2 && wire == 0)
			iv = (int32_t)v;
		else if (num == 3 && wire == 2) {
			json_decref(sv);
			sv = str_of(&sub);
		}
	}
	if (type == 1)
		return sv ? sv : json_string("");
	json_decref(sv);
	return json_integer(iv);
}

/* A map entry {1: key, 2: value} into obj. */
static int map_entry(json_t *obj, Rd *r, char vtype, int depth)
{
	json_t *key = NULL, *val = NULL;
	int num, wire;
	Rd sub;
	uint64_t v;
	while (r->p < r->end) {
		if (rd_field(r, &num, &wire, &sub, &v) < 0)
			goto bad;
		if (num == 1 && wire == 2) {
			json_decref(key);
			key = str_of(&sub);
		} else if (num == 2 && wire == 2) {
			json_decref(val);
			if (vtype == 'Y')
				val = b64_of(&sub);
			else if (vtype == 'Q')
				val = decode_message(&(PbMessage){ "Quantity", "1:string:s" }, &sub, depth + 1);
			else
				val = str_of(&sub);
			if (vtype == 'Q' && val) {
				json_t *s = json_incref(json_object_get(val, "string"));
				json_decref(val);
				val = s;
			}
		}
	}
	if (!key || !json_string_value(key))
		goto bad;
	json_object_set_new(obj, json_string_value(key), val ? val : json_string(""));
	json_decref(key);
	return 0;
bad:
	json_decref(key);
	json_decref(val);
	return -EINVAL;
}

static json_t *field_value(const Field *f, Rd *sub, int wire, uint64_t v, int depth)
{
	char t = f->type[0];
	if (wire == 0) {
		if ((t == 'b' && v) || t == 'o')
			return json_boolean(v != 0);
		if ((t == 'i' && v) || t == 'n')
			return json_integer((json_int_t)(int64_t)v);
		return NULL;
	}
	if (wire != 2)
		return NULL;
	switch (t) {
	case 's': return sub->p < sub->end || f->repeated ? str_of(sub) : NULL;
	case 'y': return b64_of(sub);
	case 'T': return time_of(sub);
	case 'I': return int_or_string(sub);
	case 'm': {
		const PbMessage *m = find_message(f->msg);
		return m ? decode_message(m, sub, depth + 1) : NULL;
	}
	default: return NULL;
	}
}

static json_t *decode_message(const PbMessage *m, Rd *r, int depth)
{
	if (depth > 32)
		return NULL;
	json_t *obj = json_object();
	int num, wire;
	Rd sub = { 0 };
	uint64_t v = 0;
	while (r->p < r->end) {
		if (rd_field(r, &num, &wire, &sub, &v) < 0) {
			json_decref(obj);
			return NULL;
		}
		Field f;
		if (!find_field(m, num, &f))
			continue;
		char t = f.type[0];
		if (t == 'M' || t == 'Y' || t == 'Q') {
			if (wire != 2)
				continue;
			json_t *map = json_object_get(obj, f.name);
			if (!map) {
				map = json_object();
				json_object_set_new(obj, f.name, map);
			}
			if (map_entry(map, &sub, t, depth) < 0) {
				json_decref(obj);
				return NULL;
			}
			continue;
		}
		json_t *val = field_value(&f, &sub, wire, v, depth);
		if (!val)
			continue;
		if (f.repeated) {
			json_t *arr = json_object_get(obj, f.name);
			if (!arr) {
				arr = json_array();
				json_object_set_new(obj, f.name, arr);
			}
			json_array_append_new(arr, val);
		} else {
			json_object_set_new(obj, f.name, val);
		}
	}
	return obj;
}

json_t *api_protobuf_decode(const char *buf, size_t len, Error **err)
{
	static const char magic[4] = { 'k', '8', 's', 0 };
	if (len < 4 || memcmp(buf, magic, 4)) {
		err_set(err, EINVAL, "protobuf body without the k8s magic");
		return NULL;
	}
	Rd r = { (const uint8_t *)buf + 4, (const uint8_t *)buf + len };
	Rd raw = { 0 }, sub;
	_cleanup_free_ char *api_version = NULL, *kind = NULL;
	int num, wire;
	uint64_t v;
	while (r.p < r.end) {
		if (rd_field(&r, &num, &wire, &sub, &v) < 0) {
			err_set(err, EINVAL, "malformed protobuf envelope");
			return NULL;
		}
		if (num == 1 && wire == 2) {
			Rd tm = sub, s2;
			while (tm.p < tm.end && rd_field(&tm, &num, &wire, &s2, &v) == 0) {
				if (num == 1 && wire == 2)
					free(api_version), api_version = xstrndup((const char *)s2.p, (size_t)(s2.end - s2.p));
				else if (num == 2 && wire == 2)
					free(kind), kind = xstrndup((const char *)s2.p, (size_t)(s2.end - s2.p));
			}
		} else if (num == 2 && wire == 2) {
			raw = sub;
		}
	}
	const PbMessage *m = kind ? find_message(kind) : NULL;
	if (!m || !strcmp(kind, "ObjectMeta")) {
		err_set(err, ENOTSUP, "protobuf for kind '%s' is not supported; send application/json", kind ? kind : "");
		return NULL;
	}
	json_t *obj = raw.p ? decode_message(m, &raw, 0) : json_object();
	if (!obj) {
		err_set(err, EINVAL, "malformed protobuf %s", kind);
		return NULL;
	}
	if (api_version)
		json_object_set_new(obj, "apiVersion", json_string(api_version));
	json_object_set_new(obj, "kind", json_string(kind));
	return obj;
}
