/* openapi.c - OpenAPI v3 schemas of the built-in kinds, for `kubectl explain`.
 *
 * A compact table: each type has a description and its fields (name, type,
 * description; a leading '!' marks a required field).  Field types are
 * "string", "integer", "boolean", "number", "date-time", "int-or-string",
 * "quantity", "map" (string to string), "object" (free form), "X" or "[]X"
 * (another type of the table, or a scalar type), "map:X" (string to X).
 * The schemas are laid out as kube-apiserver publishes them: references to
 * other types are {"allOf": [{"$ref": "#/components/schemas/NAME"}]}, array
 * items likewise, and the top-level kinds carry
 * x-kubernetes-group-version-kind, which kubectl uses to find them.  Every
 * document gets the closure of the types its kinds reference.
 * Descriptions are this project's own summaries, not Kubernetes' texts.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include <stdarg.h>
#include <string.h>

typedef struct OField {
	const char *name;  /* '!' prefix: required */
	const char *type;
	const char *desc;
} OField;

typedef struct OType {
	const char *name;  /* the full schema name */
	const char *desc;
	const OField *fields;
} OType;

#define CORE "io.k8s.api.core.v1."
#define APPS "io.k8s.api.apps.v1."
#define BATCH "io.k8s.api.batch.v1."
#define META "io.k8s.apimachinery.pkg.apis.meta.v1."

#define TYPE_META                                                                                                    \
	{ "apiVersion", "string", "The versioned schema of this object, as group/version; the server converts "      \
				  "objects sent in other versions." },                                                \
	{ "kind", "string", "The REST resource this object represents, in CamelCase; the server infers it from the " \
			    "endpoint a client writes to." },                                                         \
	{ "metadata", "ObjectMeta", "Standard object metadata: name, namespace, labels, annotations and what the " \
				    "server records about the object." }

static const OField object_meta[] = {
	{ "name", "string", "The object's name, unique within its namespace and kind; it cannot change." },
	{ "generateName", "string", "A prefix from which the server makes a unique name when name is empty." },
	{ "namespace", "string", "The namespace that scopes the name; empty for cluster-scoped kinds." },
	{ "uid", "string", "A unique identifier the server assigns when the object is created." },
	{ "resourceVersion", "string", "An opaque version of the object, changed by every write; clients use it for "
				       "optimistic concurrency and watches." },
	{ "generation", "integer", "A sequence number of changes to the desired state, set by the server." },
	{ "creationTimestamp", "date-time", "When the server created the object (UTC)." },
	{ "deletionTimestamp", "date-time", "When the object will be removed; set when a graceful deletion was "
					    "requested." },
	{ "deletionGracePeriodSeconds", "integer", "The seconds allowed for graceful termination before removal." },
	{ "labels", "map", "Key/value pairs used to organize and select objects." },
	{ "annotations", "map", "Unstructured key/value data that tools attach to the object; not for selection." },
	{ "ownerReferences", "[]OwnerReference", "The objects this one depends on; when all are gone it is garbage "
						 "collected." },
	{ "finalizers", "[]string", "Names of finalizers that must be removed before the object is deleted." },
	{ "managedFields", "[]ManagedFieldsEntry", "Which manager owns which fields (server-side apply); internal "
						    "bookkeeping." },
	{ 0 }
};

static const OField owner_reference[] = {
	{ "!apiVersion", "string", "API version of the owner." },
	{ "!kind", "string", "Kind of the owner." },
	{ "!name", "string", "Name of the owner." },
	{ "!uid", "string", "UID of the owner." },
	{ "controller", "boolean", "True when the owner is the managing controller." },
	{ "blockOwnerDeletion", "boolean", "When true, a foreground deletion of the owner waits for this object." },
	{ 0 }
};

static const OField managed_fields_entry[] = {
	{ "manager", "string", "The name of the workflow that manages these fields." },
	{ "operation", "string", "Apply or Update: the kind of write that recorded the entry." },
	{ "apiVersion", "string", "The version of the object the field set is defined in." },
	{ "time", "date-time", "When the entry was last changed." },
	{ "fieldsType", "string", "The format of fieldsV1; always FieldsV1." },
	{ "fieldsV1", "object", "The set of fields owned, as a tree." },
	{ "subresource", "string", "The subresource written, if any." },
	{ 0 }
};

static const OField label_selector[] = {
	{ "matchLabels", "map", "Labels that must all be present with these values." },
	{ "matchExpressions", "[]LabelSelectorRequirement", "Requirements that must all hold." },
	{ 0 }
};

static const OField label_selector_requirement[] = {
	{ "!key", "string", "The label key the requirement applies to." },
	{ "!operator", "string", "In, NotIn, Exists or DoesNotExist." },
	{ "values", "[]string", "The values for In and NotIn; empty for Exists and DoesNotExist." },
	{ 0 }
};

static const OField pod[] = {
	TYPE_META,
	{ "spec", "PodSpec", "The desired behavior of the pod: its containers, volumes and scheduling." },
	{ "status", "PodStatus", "The most recently observed state of the pod, reported by its node; read-only." },
	{ 0 }
};

static const OField pod_spec[] = {
	{ "!containers", "[]Container", "The containers of the pod; at least one.  They cannot be added or removed "
					"once the pod exists." },
	{ "initContainers", "[]Container", "Containers run to completion, in order, before the regular containers "
					   "start." },
	{ "volumes", "[]Volume", "Volumes the pod's containers can mount." },
	{ "restartPolicy", "string", "Always, OnFailure or Never: what happens to a container that exits." },
	{ "terminationGracePeriodSeconds", "integer", "Seconds between the termination signal and the kill." },
	{ "activeDeadlineSeconds", "integer", "How long the pod may run before it is failed." },
	{ "dnsPolicy", "string", "How the pod's DNS is set up: ClusterFirst, Default, None or "
				 "ClusterFirstWithHostNet." },
	{ "nodeSelector", "map", "Labels a node must have for the pod to be scheduled on it." },
	{ "serviceAccountName", "string", "The ServiceAccount whose identity the pod runs with." },
	{ "automountServiceAccountToken", "boolean", "Whether the ServiceAccount token is mounted." },
	{ "nodeName", "string", "The node the pod is bound to; set by the scheduler." },
	{ "hostNetwork", "boolean", "Use the node's network namespace." },
	{ "hostPID", "boolean", "Use the node's PID namespace." },
	{ "hostIPC", "boolean", "Use the node's IPC namespace." },
	{ "securityContext", "object", "Security settings for every container of the pod." },
	{ "imagePullSecrets", "[]LocalObjectReference", "Secrets with registry credentials for pulling images." },
	{ "hostname", "string", "The pod's hostname; the pod name by default." },
	{ "subdomain", "string", "With hostname, gives the pod a DNS name under a headless Service." },
	{ "affinity", "object", "Node and pod (anti-)affinity scheduling constraints." },
	{ "schedulerName", "string", "The scheduler that places the pod." },
	{ "tolerations", "[]Toleration", "Taints the pod tolerates." },
	{ "priorityClassName", "string", "The priority class of the pod." },
	{ "priority", "integer", "The pod's priority, resolved from its priority class." },
	{ "enableServiceLinks", "boolean", "Whether Service environment variables are injected." },
	{ "shareProcessNamespace", "boolean", "Share one PID namespace between the pod's containers." },
	{ 0 }
};

static const OField pod_status[] = {
	{ "phase", "string", "Pending, Running, Succeeded, Failed or Unknown." },
	{ "conditions", "[]object", "Conditions of the pod such as PodScheduled and Ready." },
	{ "message", "string", "A human readable note on why the pod is in this state." },
	{ "reason", "string", "A short CamelCase reason for the state." },
	{ "hostIP", "string", "The IP of the node running the pod." },
	{ "podIP", "string", "The IP assigned to the pod." },
	{ "startTime", "date-time", "When the node acknowledged the pod." },
	{ "containerStatuses", "[]object", "One status per container: state, readiness, restarts, image." },
	{ "qosClass", "string", "Guaranteed, Burstable or BestEffort, from the resource requirements." },
	{ 0 }
};

static const OField container[] = {
	{ "!name", "string", "The container's name, a DNS label unique within the pod." },
	{ "image", "string", "The image to run." },
	{ "command", "[]string", "The entrypoint; replaces the image's ENTRYPOINT.  $(VAR) references are expanded." },
	{ "args", "[]string", "Arguments to the entrypoint; replace the image's CMD." },
	{ "workingDir", "string", "The working directory; the image's by default." },
	{ "ports", "[]ContainerPort", "Ports the container exposes (informational; every port is reachable)." },
	{ "env", "[]EnvVar", "Environment variables to set." },
	{ "envFrom", "[]object", "ConfigMaps and Secrets whose keys become environment variables." },
	{ "resources", "ResourceRequirements", "CPU and memory the container requests and may use at most." },
	{ "volumeMounts", "[]VolumeMount", "Where the pod's volumes appear in the container's filesystem." },
	{ "livenessProbe", "Probe", "A check whose failure restarts the container." },
	{ "readinessProbe", "Probe", "A check whose failure removes the pod from Service endpoints." },
	{ "startupProbe", "Probe", "A check that holds off the other probes until the container has started." },
	{ "lifecycle", "object", "Hooks run after start and before stop." },
	{ "terminationMessagePath", "string", "The file whose content becomes the termination message." },
	{ "terminationMessagePolicy", "string", "File, or FallbackToLogsOnError." },
	{ "imagePullPolicy", "string", "Always, Never or IfNotPresent." },
	{ "securityContext", "object", "Security settings of this container." },
	{ "stdin", "boolean", "Keep a stdin open for the container." },
	{ "tty", "boolean", "Allocate a terminal for the container." },
	{ 0 }
};

static const OField container_port[] = {
	{ "!containerPort", "integer", "The port number on the pod's IP." },
	{ "name", "string", "A name Services can refer to the port by." },
	{ "protocol", "string", "TCP, UDP or SCTP; TCP by default." },
	{ "hostPort", "integer", "A port on the node forwarded to this one." },
	{ "hostIP", "string", "The node address the host port binds." },
	{ 0 }
};

static const OField env_var[] = {
	{ "!name", "string", "The variable's name." },
	{ "value", "string", "The value; $(VAR) references to earlier variables are expanded." },
	{ "valueFrom", "object", "Where the value comes from instead: a field, a resource, a ConfigMap or Secret "
				 "key." },
	{ 0 }
};

static const OField volume_mount[] = {
	{ "!name", "string", "The volume to mount." },
	{ "!mountPath", "string", "Where in the container the volume appears." },
	{ "subPath", "string", "A path inside the volume to mount instead of its root." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ 0 }
};

static const OField volume[] = {
	{ "!name", "string", "The volume's name, referred to by volume mounts." },
	{ "emptyDir", "object", "A directory that lives as long as the pod." },
	{ "hostPath", "object", "A file or directory of the node." },
	{ "configMap", "object", "The keys of a ConfigMap as files." },
	{ "secret", "object", "The keys of a Secret as files." },
	{ "persistentVolumeClaim", "object", "A PersistentVolumeClaim's volume." },
	{ "projected", "object", "Several sources (tokens, ConfigMaps, Secrets, downward API) in one directory." },
	{ "downwardAPI", "object", "Fields of the pod as files." },
	{ 0 }
};

static const OField resource_requirements[] = {
	{ "limits", "map:quantity", "The most of each resource the container may use." },
	{ "requests", "map:quantity", "The amount of each resource the scheduler reserves for the container." },
	{ 0 }
};

static const OField probe[] = {
	{ "exec", "object", "Run a command in the container; exit status 0 is success." },
	{ "httpGet", "object", "An HTTP GET; a status from 200 to 399 is success." },
	{ "tcpSocket", "object", "A TCP connection; opening it is success." },
	{ "initialDelaySeconds", "integer", "Seconds after start before the first probe." },
	{ "periodSeconds", "integer", "Seconds between probes." },
	{ "timeoutSeconds", "integer", "Seconds before a probe times out." },
	{ "successThreshold", "integer", "Consecutive successes that count as success after a failure." },
	{ "failureThreshold", "integer", "Consecutive failures that count as failure." },
	{ 0 }
};

static const OField toleration[] = {
	{ "key", "string", "The taint key tolerated; empty with Exists tolerates every taint." },
	{ "operator", "string", "Equal or Exists." },
	{ "value", "string", "The taint value tolerated, with Equal." },
	{ "effect", "string", "NoSchedule, PreferNoSchedule or NoExecute; empty matches all." },
	{ "tolerationSeconds", "integer", "How long a NoExecute taint is tolerated before eviction." },
	{ 0 }
};

static const OField local_object_reference[] = {
	{ "name", "string", "The name of the object in the same namespace." },
	{ 0 }
};

static const OField pod_template_spec[] = {
	{ "metadata", "ObjectMeta", "Metadata of the pods made from the template, labels above all." },
	{ "spec", "PodSpec", "The specification of the pods made from the template." },
	{ 0 }
};

static const OField deployment[] = {
	TYPE_META,
	{ "spec", "DeploymentSpec", "The desired state: how many pods of which template, and how to roll out changes." },
	{ "status", "DeploymentStatus", "The most recently observed state of the rollout; read-only." },
	{ 0 }
};

static const OField deployment_spec[] = {
	{ "replicas", "integer", "The number of pods wanted; 1 by default." },
	{ "!selector", "LabelSelector", "Selects the pods the deployment manages; must match the template's labels "
				       "and cannot change." },
	{ "!template", "PodTemplateSpec", "The pods to create." },
	{ "strategy", "DeploymentStrategy", "How old pods are replaced by new ones." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready before it counts as available." },
	{ "revisionHistoryLimit", "integer", "How many old ReplicaSets are kept for rollback; 10 by default." },
	{ "paused", "boolean", "Stop rolling out template changes while true." },
	{ "progressDeadlineSeconds", "integer", "Seconds without progress after which the rollout is reported as "
						"failed." },
	{ 0 }
};

static const OField deployment_strategy[] = {
	{ "type", "string", "Recreate (remove every old pod first) or RollingUpdate (replace gradually, the "
			    "default)." },
	{ "rollingUpdate", "RollingUpdateDeployment", "Limits of a rolling update; only with type RollingUpdate." },
	{ 0 }
};

static const OField rolling_update_deployment[] = {
	{ "maxUnavailable", "int-or-string", "How many pods (or what percentage) may be unavailable during the update; "
					     "25% by default." },
	{ "maxSurge", "int-or-string", "How many pods (or what percentage) may exist above the desired count during "
				       "the update; 25% by default." },
	{ 0 }
};

static const OField deployment_status[] = {
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "replicas", "integer", "Pods that exist for this deployment." },
	{ "updatedReplicas", "integer", "Pods made from the current template." },
	{ "readyReplicas", "integer", "Pods that are ready." },
	{ "availableReplicas", "integer", "Pods ready for at least minReadySeconds." },
	{ "unavailableReplicas", "integer", "Pods still needed for the deployment to be fully available." },
	{ "conditions", "[]object", "Available and Progressing conditions." },
	{ 0 }
};

static const OField service[] = {
	TYPE_META,
	{ "spec", "ServiceSpec", "How the service is exposed: its ports, selector, type and addresses." },
	{ "status", "ServiceStatus", "The most recently observed state, such as load balancer addresses; read-only." },
	{ 0 }
};

static const OField service_spec[] = {
	{ "ports", "[]ServicePort", "The ports the service exposes." },
	{ "selector", "map", "The labels of the pods traffic is sent to." },
	{ "type", "string", "ClusterIP (the default), NodePort, LoadBalancer or ExternalName." },
	{ "clusterIP", "string", "The virtual IP of the service, allocated from the service range unless given; "
				 "None makes the service headless." },
	{ "clusterIPs", "[]string", "The service's IPs, one per family; the first equals clusterIP." },
	{ "externalIPs", "[]string", "Extra node addresses that accept traffic for the service." },
	{ "externalName", "string", "The DNS name an ExternalName service aliases." },
	{ "sessionAffinity", "string", "ClientIP or None: whether a client keeps reaching the same pod." },
	{ "externalTrafficPolicy", "string", "Cluster or Local: how external traffic is routed to pods." },
	{ "internalTrafficPolicy", "string", "Cluster or Local: how in-cluster traffic is routed to pods." },
	{ "ipFamilies", "[]string", "IPv4 and/or IPv6." },
	{ "ipFamilyPolicy", "string", "SingleStack, PreferDualStack or RequireDualStack." },
	{ "publishNotReadyAddresses", "boolean", "List pods in endpoints before they are ready." },
	{ 0 }
};

static const OField service_port[] = {
	{ "!port", "integer", "The port the service listens on." },
	{ "name", "string", "The port's name; required when there is more than one port." },
	{ "protocol", "string", "TCP, UDP or SCTP; TCP by default." },
	{ "targetPort", "int-or-string", "The pod port (number or name) traffic goes to; the same as port by "
					 "default." },
	{ "nodePort", "integer", "The port opened on every node for NodePort and LoadBalancer services, from "
				 "30000-32767; allocated unless given." },
	{ "appProtocol", "string", "The application protocol, a hint for implementations." },
	{ 0 }
};

static const OField service_status[] = {
	{ "loadBalancer", "object", "The ingress points of the load balancer, if any." },
	{ "conditions", "[]object", "Conditions of the service." },
	{ 0 }
};

static const OField config_map[] = {
	TYPE_META,
	{ "data", "map", "The configuration as UTF-8 strings by key." },
	{ "binaryData", "map", "Binary values by key, base64-encoded; keys must not repeat those of data." },
	{ "immutable", "boolean", "When true, data cannot change (only the object can be deleted)." },
	{ 0 }
};

static const OField secret[] = {
	TYPE_META,
	{ "data", "map", "The secret values by key, base64-encoded." },
	{ "stringData", "map", "Values given as plain strings, merged into data on write; never read back." },
	{ "type", "string", "What the secret holds, e.g. Opaque, kubernetes.io/tls or "
			    "kubernetes.io/dockerconfigjson." },
	{ "immutable", "boolean", "When true, data cannot change." },
	{ 0 }
};

static const OField job[] = {
	TYPE_META,
	{ "spec", "JobSpec", "What the job runs and how many successful completions it needs." },
	{ "status", "JobStatus", "The most recently observed progress of the job; read-only." },
	{ 0 }
};

static const OField job_spec[] = {
	{ "!template", "PodTemplateSpec", "The pods the job runs; restartPolicy must be Never or OnFailure." },
	{ "parallelism", "integer", "How many pods may run at once." },
	{ "completions", "integer", "How many pods must succeed; unset means any one success finishes the job." },
	{ "backoffLimit", "integer", "Retries before the job is marked failed; 6 by default." },
	{ "activeDeadlineSeconds", "integer", "How long the job may run before it is failed." },
	{ "ttlSecondsAfterFinished", "integer", "Seconds after finishing when the job is deleted." },
	{ "completionMode", "string", "NonIndexed or Indexed." },
	{ "suspend", "boolean", "While true, no pods are created and running ones are stopped." },
	{ "selector", "LabelSelector", "The job's pods; generated by default." },
	{ "manualSelector", "boolean", "Use the selector given instead of a generated one." },
	{ 0 }
};

static const OField job_status[] = {
	{ "active", "integer", "Pods running." },
	{ "succeeded", "integer", "Pods that succeeded." },
	{ "failed", "integer", "Pods that failed." },
	{ "startTime", "date-time", "When the job started." },
	{ "completionTime", "date-time", "When the job completed." },
	{ "conditions", "[]object", "Complete, Failed and Suspended conditions." },
	{ 0 }
};

static const OField cron_job[] = {
	TYPE_META,
	{ "spec", "CronJobSpec", "The schedule and the job to run." },
	{ "status", "CronJobStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField cron_job_spec[] = {
	{ "!schedule", "string", "When to run, in cron format." },
	{ "timeZone", "string", "The time zone of the schedule; the controller's by default." },
	{ "!jobTemplate", "JobTemplateSpec", "The job created at each scheduled time." },
	{ "concurrencyPolicy", "string", "Allow, Forbid or Replace: what to do when a run is still going." },
	{ "suspend", "boolean", "While true, no new runs start." },
	{ "startingDeadlineSeconds", "integer", "How late a missed run may still start." },
	{ "successfulJobsHistoryLimit", "integer", "Finished successful jobs kept; 3 by default." },
	{ "failedJobsHistoryLimit", "integer", "Failed jobs kept; 1 by default." },
	{ 0 }
};

static const OField job_template_spec[] = {
	{ "metadata", "ObjectMeta", "Metadata of the jobs created from the template." },
	{ "spec", "JobSpec", "The specification of the jobs created from the template." },
	{ 0 }
};

static const OField cron_job_status[] = {
	{ "active", "[]object", "References to the jobs running now." },
	{ "lastScheduleTime", "date-time", "When a job was last scheduled." },
	{ "lastSuccessfulTime", "date-time", "When a job last succeeded." },
	{ 0 }
};

static const OField daemon_set[] = {
	TYPE_META,
	{ "spec", "DaemonSetSpec", "The pod to run on every eligible node." },
	{ "status", "DaemonSetStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField daemon_set_spec[] = {
	{ "!selector", "LabelSelector", "Selects the pods the daemon set manages; must match the template." },
	{ "!template", "PodTemplateSpec", "The pod run on each node." },
	{ "updateStrategy", "DaemonSetUpdateStrategy", "How pods are replaced when the template changes." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready to count as available." },
	{ "revisionHistoryLimit", "integer", "Old revisions kept for rollback; 10 by default." },
	{ 0 }
};

static const OField daemon_set_update_strategy[] = {
	{ "type", "string", "RollingUpdate (the default) or OnDelete." },
	{ "rollingUpdate", "object", "maxUnavailable and maxSurge of a rolling update." },
	{ 0 }
};

static const OField daemon_set_status[] = {
	{ "desiredNumberScheduled", "integer", "Nodes that should run the pod." },
	{ "currentNumberScheduled", "integer", "Nodes running at least one of its pods." },
	{ "numberReady", "integer", "Nodes whose pod is ready." },
	{ "numberAvailable", "integer", "Nodes whose pod is available." },
	{ "updatedNumberScheduled", "integer", "Nodes running the current template." },
	{ "numberMisscheduled", "integer", "Nodes running the pod that should not." },
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ 0 }
};

static const OField stateful_set[] = {
	TYPE_META,
	{ "spec", "StatefulSetSpec", "Pods with stable names and storage, created in order." },
	{ "status", "StatefulSetStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField stateful_set_spec[] = {
	{ "replicas", "integer", "The number of pods wanted; 1 by default." },
	{ "!selector", "LabelSelector", "Selects the pods the set manages; must match the template." },
	{ "!template", "PodTemplateSpec", "The pods to create, named <set>-<ordinal>." },
	{ "serviceName", "string", "The headless service giving the pods their DNS names." },
	{ "podManagementPolicy", "string", "OrderedReady (one at a time, the default) or Parallel." },
	{ "updateStrategy", "object", "RollingUpdate (with a partition) or OnDelete." },
	{ "volumeClaimTemplates", "[]object", "Claims created for each pod, kept across rescheduling." },
	{ "revisionHistoryLimit", "integer", "Old revisions kept; 10 by default." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready to count as available." },
	{ 0 }
};

static const OField stateful_set_status[] = {
	{ "replicas", "integer", "Pods that exist." },
	{ "readyReplicas", "integer", "Pods that are ready." },
	{ "currentReplicas", "integer", "Pods at the current revision." },
	{ "updatedReplicas", "integer", "Pods at the update revision." },
	{ "availableReplicas", "integer", "Pods available for minReadySeconds." },
	{ "currentRevision", "string", "The revision of the pods [0, currentReplicas)." },
	{ "updateRevision", "string", "The revision being rolled out." },
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ 0 }
};

static const OField namespace_f[] = {
	TYPE_META,
	{ "spec", "NamespaceSpec", "The finalizers that must finish before the namespace is removed." },
	{ "status", "NamespaceStatus", "Whether the namespace is Active or Terminating; read-only." },
	{ 0 }
};

static const OField namespace_spec[] = {
	{ "finalizers", "[]string", "Must be empty before the namespace is removed from storage." },
	{ 0 }
};

static const OField namespace_status[] = {
	{ "phase", "string", "Active or Terminating." },
	{ "conditions", "[]object", "Conditions of the namespace's deletion." },
	{ 0 }
};

static const OField node[] = {
	TYPE_META,
	{ "spec", "NodeSpec", "How the node is configured: pod address range, taints, schedulability." },
	{ "status", "NodeStatus", "The most recently observed state, reported by the node agent; read-only." },
	{ 0 }
};

static const OField node_spec[] = {
	{ "podCIDR", "string", "The pod IP range assigned to the node." },
	{ "podCIDRs", "[]string", "The pod IP ranges, one per family." },
	{ "providerID", "string", "The node's ID at its infrastructure provider." },
	{ "taints", "[]object", "Taints that repel pods that do not tolerate them." },
	{ "unschedulable", "boolean", "When true, no new pods are scheduled onto the node." },
	{ 0 }
};

static const OField node_status[] = {
	{ "capacity", "map:quantity", "The node's total resources." },
	{ "allocatable", "map:quantity", "The resources available to pods." },
	{ "conditions", "[]object", "Ready, MemoryPressure, DiskPressure, PIDPressure and more." },
	{ "addresses", "[]object", "The node's addresses (InternalIP, Hostname, ...)." },
	{ "nodeInfo", "object", "Versions of the node's kernel, OS, runtime and agent." },
	{ "images", "[]object", "Images present on the node." },
	{ 0 }
};

static const OType types[] = {
	{ META "ObjectMeta", "Metadata every persisted object has.", object_meta },
	{ META "OwnerReference", "A reference to an object this one depends on.", owner_reference },
	{ META "ManagedFieldsEntry", "The fields one manager owns, and how it last wrote them.", managed_fields_entry },
	{ META "LabelSelector", "A query over labels: all matchLabels and matchExpressions must hold.",
	  label_selector },
	{ META "LabelSelectorRequirement", "One condition on a label.", label_selector_requirement },
	{ CORE "Pod", "A group of containers that run together on one node, sharing network and volumes.", pod },
	{ CORE "PodSpec", "The desired behavior of a pod.", pod_spec },
	{ CORE "PodStatus", "The observed state of a pod.", pod_status },
	{ CORE "Container", "One application container of a pod.", container },
	{ CORE "ContainerPort", "A network port of a container.", container_port },
	{ CORE "EnvVar", "An environment variable of a container.", env_var },
	{ CORE "VolumeMount", "Where a volume is mounted in a container.", volume_mount },
	{ CORE "Volume", "A named volume of a pod; exactly one source field is set.", volume },
	{ CORE "ResourceRequirements", "Compute resources a container requests and is limited to.",
	  resource_requirements },
	{ CORE "Probe", "A health check run against a container.", probe },
	{ CORE "Toleration", "Lets a pod be scheduled onto (or stay on) nodes with a matching taint.", toleration },
	{ CORE "LocalObjectReference", "A reference to an object in the same namespace.", local_object_reference },
	{ CORE "PodTemplateSpec", "The template pods are created from.", pod_template_spec },
	{ CORE "Service", "A stable name and address for a set of pods, with load balancing across them.", service },
	{ CORE "ServiceSpec", "The desired state of a service.", service_spec },
	{ CORE "ServicePort", "One port of a service.", service_port },
	{ CORE "ServiceStatus", "The observed state of a service.", service_status },
	{ CORE "ConfigMap", "Non-confidential configuration as key/value pairs.", config_map },
	{ CORE "Secret", "Confidential data as key/value pairs, such as passwords, tokens and keys.", secret },
	{ CORE "Namespace", "A scope for names; most objects live in one.", namespace_f },
	{ CORE "NamespaceSpec", "The desired state of a namespace.", namespace_spec },
	{ CORE "NamespaceStatus", "The observed state of a namespace.", namespace_status },
	{ CORE "Node", "A machine that runs pods; it registers itself through its node agent.", node },
	{ CORE "NodeSpec", "The configuration of a node.", node_spec },
	{ CORE "NodeStatus", "The observed state of a node.", node_status },
	{ APPS "Deployment", "Declarative updates of a replicated set of pods through ReplicaSets.", deployment },
	{ APPS "DeploymentSpec", "The desired state of a deployment.", deployment_spec },
	{ APPS "DeploymentStrategy", "How a deployment replaces old pods with new ones.", deployment_strategy },
	{ APPS "RollingUpdateDeployment", "The limits of a rolling update.", rolling_update_deployment },
	{ APPS "DeploymentStatus", "The observed state of a deployment.", deployment_status },
	{ APPS "DaemonSet", "Runs a copy of a pod on every eligible node.", daemon_set },
	{ APPS "DaemonSetSpec", "The desired state of a daemon set.", daemon_set_spec },
	{ APPS "DaemonSetUpdateStrategy", "How a daemon set replaces its pods.", daemon_set_update_strategy },
	{ APPS "DaemonSetStatus", "The observed state of a daemon set.", daemon_set_status },
	{ APPS "StatefulSet", "Pods with stable identities and storage, managed in order.", stateful_set },
	{ APPS "StatefulSetSpec", "The desired state of a stateful set.", stateful_set_spec },
	{ APPS "StatefulSetStatus", "The observed state of a stateful set.", stateful_set_status },
	{ BATCH "Job", "Runs pods until a number of them complete successfully.", job },
	{ BATCH "JobSpec", "The desired behavior of a job.", job_spec },
	{ BATCH "JobStatus", "The observed state of a job.", job_status },
	{ BATCH "JobTemplateSpec", "The template jobs are created from.", job_template_spec },
	{ BATCH "CronJob", "Creates jobs on a repeating schedule.", cron_job },
	{ BATCH "CronJobSpec", "The schedule and job of a cron job.", cron_job_spec },
	{ BATCH "CronJobStatus", "The observed state of a cron job.", cron_job_status },
};

/* The type whose full name ends with ".short" (or is full). */
static const OType *type_find(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		size_t m = strlen(types[i].name);
		if (!strcmp(types[i].name, name) || (m > n && types[i].name[m - n - 1] == '.' &&
						     !strcmp(types[i].name + m - n, name)))
			return &types[i];
	}
	return NULL;
}

static void add_type(json_t *schemas, const OType *t);

/* A reference to a scalar named type, defined in schemas by the json_pack
 * format and arguments on first use. */
static json_t *scalar_ref(json_t *schemas, const char *name, const char *fmt, ...)
{
	if (!json_object_get(schemas, name)) {
		va_list ap;
		va_start(ap, fmt);
		json_object_set_new(schemas, name, json_vpack_ex(NULL, 0, fmt, ap));
		va_end(ap);
	}
	_cleanup_free_ char *ref = xasprintf("#/components/schemas/%s", name);
	return json_pack("{s:[{s:s}]}", "allOf", "$ref", ref);
}

/* The schema of a field type (new reference); referenced types are added to schemas. */
static json_t *field_schema(json_t *schemas, const char *type)
{
	if (!strncmp(type, "[]", 2))
		return json_pack("{s:s, s:o}", "type", "array", "items", field_schema(schemas, type + 2));
	if (!strncmp(type, "map:", 4))
		return json_pack("{s:s, s:o}", "type", "object", "additionalProperties", field_schema(schemas, type + 4));
	if (!strcmp(type, "string") || !strcmp(type, "boolean") || !strcmp(type, "number"))
		return json_pack("{s:s}", "type", type);
	if (!strcmp(type, "integer"))
		return json_pack("{s:s, s:s}", "type", "integer", "format", "int64");
	if (!strcmp(type, "date-time"))
		return scalar_ref(schemas, META "Time", "{s:s, s:s, s:s}", "description", "A time in RFC 3339 form, "
				  "to the second, in UTC.", "type", "string", "format", "date-time");
	if (!strcmp(type, "quantity"))
		return scalar_ref(schemas, "io.k8s.apimachinery.pkg.api.resource.Quantity", "{s:s, s:s}", "description",
				  "An amount of a resource: a number with an optional suffix such as m, Ki, Mi, "
				  "Gi, k, M, G.", "type", "string");
	if (!strcmp(type, "int-or-string"))
		return scalar_ref(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString", "{s:s, s:s, s:s}",
				  "description", "Either an integer or a string (a name or a percentage).", "type",
				  "string", "format", "int-or-string");
	if (!strcmp(type, "map"))
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "object", "additionalProperties", "type", "string",
				 "default", "");
	const OType *t = type_find(type);
	if (!t)
		return json_pack("{s:s, s:b}", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
	add_type(schemas, t);
	_cleanup_free_ char *ref = xasprintf("#/components/schemas/%s", t->name);
	return json_pack("{s:[{s:s}], s:{}}", "allOf", "$ref", ref, "default");
}

static void add_type(json_t *schemas, const OType *t)
{
	if (json_object_get(schemas, t->name))
		return;
	json_t *props = json_object(), *req = json_array();
	json_t *s = json_pack("{s:s, s:s, s:o}", "description", t->desc, "type", "object", "properties", props);
	json_object_set_new(schemas, t->name, s); /* before the fields: types may refer to each other */
	for (const OField *f = t->fields; f->name; f++) {
		const char *name = f->name + (f->name[0] == '!');
		if (f->name[0] == '!')
			json_array_append_new(req, json_string(name));
		json_t *fs = field_schema(schemas, f->type);
		json_object_set_new(fs, "description", json_string(f->desc));
		json_object_set_new(props, name, fs);
	}
	if (json_array_size(req))
		json_object_set_new(s, "required", req);
	else
		json_decref(req);
}

const char *api_openapi_add_kind(json_t *schemas, const ApiResource *r)
{
	if (r->custom)
		return NULL;
	const char *prefix = !*r->group ? CORE : !strcmp(r->group, "apps") ? APPS : !strcmp(r->group, "batch") ? BATCH :
			     NULL;
	if (!prefix || strcmp(r->version, "v1"))
		return NULL;
	_cleanup_free_ char *full = xasprintf("%s%s", prefix, r->kind);
	const OType *t = type_find(full);
	if (!t)
		return NULL;
	add_type(schemas, t);
	return t->name;
}

json_t *api_openapi_custom(json_t *schemas, const ApiResource *r)
{
	json_t *s = r->schema ? json_deep_copy(r->schema) : json_pack("{s:s}", "type", "object");
	json_t *props = json_obj_ensure(s, "properties");
	static const OField top[] = { TYPE_META, { 0 } };
	for (const OField *f = top; f->name; f++)
		if (!json_object_get(props, f->name)) {
			json_t *fs = field_schema(schemas, f->type);
			json_object_set_new(fs, "description", json_string(f->desc));
			json_object_set_new(props, f->name, fs);
		}
	return s;
}
