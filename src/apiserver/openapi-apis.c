/* openapi-apis.c - the schemas of meta/v1 and of the named API groups the
 * server serves (apps, batch, networking, RBAC, policy, storage, discovery,
 * events, scheduling, coordination, apiextensions) for openapi.c.  Field
 * names, types, required markers and enums follow the Kubernetes API; the
 * descriptions are this project's own one-line summaries.
 */
#include "openapi-internal.h"
#include <stddef.h>

#define APPS "io.k8s.api.apps.v1."
#define BATCH "io.k8s.api.batch.v1."
#define NET "io.k8s.api.networking.v1."
#define RBAC "io.k8s.api.rbac.v1."
#define POLICY "io.k8s.api.policy.v1."
#define STORAGE "io.k8s.api.storage.v1."
#define DISC "io.k8s.api.discovery.v1."
#define EVENTS "io.k8s.api.events.v1."
#define SCHED "io.k8s.api.scheduling.v1."
#define COORD "io.k8s.api.coordination.v1."
#define APIEXT "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

#define PROTOCOL "enum:SCTP,TCP,UDP"

/* ---- meta/v1 ---- */

static const OField object_meta[] = {
	{ "name", "string", "The object's name, unique within its namespace and kind; it cannot change." },
	{ "generateName", "string", "A prefix from which the server makes a unique name when name is empty." },
	{ "namespace", "string", "The namespace that scopes the name; empty for cluster-scoped kinds." },
	{ "selfLink", "string", "Deprecated and not set." },
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
	{ "ownerReferences", "[]OwnerReference|map:uid", "The objects this one depends on; when all are gone it is garbage "
						 "collected." },
	{ "finalizers", "[]string|set", "Names of finalizers that must be removed before the object is deleted." },
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

static const OField condition[] = {
	{ "!type", "string", "The condition, in CamelCase." },
	{ "!status", "enum:False,True,Unknown", "Whether the condition holds." },
	{ "observedGeneration", "integer", "The generation the condition was computed for." },
	{ "!lastTransitionTime", "date-time", "When the status last changed." },
	{ "!reason", "string", "A CamelCase reason for the last change." },
	{ "!message", "string", "A human readable note on the last change." },
	{ 0 }
};

/* the shape of most kinds' conditions */
static const OField typed_condition[] = {
	{ "!type", "string", "The condition." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

/* ---- apps/v1 ---- */

static const OField deployment[] = {
	OA_TYPE_META,
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
	{ "type", "enum:Recreate,RollingUpdate", "Recreate removes every old pod first; RollingUpdate (the default) "
						 "replaces them gradually." },
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
	{ "conditions", "[]DeploymentCondition|map:type", "Available, Progressing and ReplicaFailure conditions." },
	{ "collisionCount", "integer", "Counts hash collisions of the template; part of new ReplicaSet names." },
	{ 0 }
};

static const OField deployment_condition[] = {
	{ "!type", "string", "Available, Progressing or ReplicaFailure." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastUpdateTime", "date-time", "When the condition was last updated." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

static const OField replica_set[] = {
	OA_TYPE_META,
	{ "spec", "ReplicaSetSpec", "How many pods of which template." },
	{ "status", "ReplicaSetStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField replica_set_spec[] = {
	{ "replicas", "integer", "The number of pods wanted; 1 by default." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready to count as available." },
	{ "!selector", "LabelSelector", "Selects the pods the set manages; must match the template." },
	{ "template", "PodTemplateSpec", "The pods to create when too few exist." },
	{ 0 }
};

static const OField replica_set_status[] = {
	{ "!replicas", "integer", "Pods that exist." },
	{ "fullyLabeledReplicas", "integer", "Pods with every label of the template." },
	{ "readyReplicas", "integer", "Pods that are ready." },
	{ "availableReplicas", "integer", "Pods available for minReadySeconds." },
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "conditions", "[]ReplicaSetCondition|map:type", "Conditions such as ReplicaFailure." },
	{ 0 }
};

static const OField daemon_set[] = {
	OA_TYPE_META,
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
	{ "type", "enum:OnDelete,RollingUpdate", "RollingUpdate (the default) replaces pods itself; OnDelete waits "
						 "for them to be deleted." },
	{ "rollingUpdate", "RollingUpdateDaemonSet", "Limits of a rolling update." },
	{ 0 }
};

static const OField rolling_update_daemon_set[] = {
	{ "maxUnavailable", "int-or-string", "How many nodes (or what percentage) may lack an available pod during "
					     "the update; 1 by default." },
	{ "maxSurge", "int-or-string", "How many nodes (or what percentage) may run an old and a new pod at once; 0 "
				       "by default." },
	{ 0 }
};

static const OField daemon_set_status[] = {
	{ "!currentNumberScheduled", "integer", "Nodes running at least one of its pods that should." },
	{ "!numberMisscheduled", "integer", "Nodes running the pod that should not." },
	{ "!desiredNumberScheduled", "integer", "Nodes that should run the pod." },
	{ "!numberReady", "integer", "Nodes whose pod is ready." },
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "updatedNumberScheduled", "integer", "Nodes running the current template." },
	{ "numberAvailable", "integer", "Nodes whose pod is available." },
	{ "numberUnavailable", "integer", "Nodes that should run an available pod and do not." },
	{ "collisionCount", "integer", "Counts hash collisions of the template." },
	{ "conditions", "[]DaemonSetCondition|map:type", "Conditions of the daemon set." },
	{ 0 }
};

static const OField stateful_set[] = {
	OA_TYPE_META,
	{ "spec", "StatefulSetSpec", "Pods with stable names and storage, created in order." },
	{ "status", "StatefulSetStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField stateful_set_spec[] = {
	{ "replicas", "integer", "The number of pods wanted; 1 by default." },
	{ "!selector", "LabelSelector", "Selects the pods the set manages; must match the template." },
	{ "!template", "PodTemplateSpec", "The pods to create, named <set>-<ordinal>." },
	{ "volumeClaimTemplates", "[]" OA_CORE "PersistentVolumeClaim", "Claims created for each pod, kept across "
									"rescheduling." },
	{ "serviceName", "string", "The headless service giving the pods their DNS names." },
	{ "podManagementPolicy", "enum:OrderedReady,Parallel", "OrderedReady (one at a time, the default) or "
							       "Parallel." },
	{ "updateStrategy", "StatefulSetUpdateStrategy", "How pods are replaced when the template changes." },
	{ "revisionHistoryLimit", "integer", "Old revisions kept; 10 by default." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready to count as available." },
	{ "persistentVolumeClaimRetentionPolicy", "StatefulSetPersistentVolumeClaimRetentionPolicy", "Whether the "
		  "claims of the templates are deleted with the set or on scale-down." },
	{ "ordinals", "StatefulSetOrdinals", "The numbering of the pods." },
	{ 0 }
};

static const OField stateful_set_update_strategy[] = {
	{ "type", "enum:OnDelete,RollingUpdate", "RollingUpdate (the default) replaces pods in reverse order; "
						 "OnDelete waits for them to be deleted." },
	{ "rollingUpdate", "RollingUpdateStatefulSetStrategy", "Limits of a rolling update." },
	{ 0 }
};

static const OField rolling_update_stateful_set[] = {
	{ "partition", "integer", "Only pods with an ordinal at least this are updated." },
	{ "maxUnavailable", "int-or-string", "How many pods (or what percentage) may be unavailable during the "
					     "update; 1 by default." },
	{ 0 }
};

static const OField pvc_retention_policy[] = {
	{ "whenDeleted", "enum:Delete,Retain", "What happens to the claims when the set is deleted; Retain by "
					       "default." },
	{ "whenScaled", "enum:Delete,Retain", "What happens to the claims of pods removed by a scale-down; Retain by "
					      "default." },
	{ 0 }
};

static const OField stateful_set_ordinals[] = {
	{ "start", "integer", "The ordinal of the first pod; 0 by default." },
	{ 0 }
};

static const OField stateful_set_status[] = {
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "!replicas", "integer", "Pods that exist." },
	{ "readyReplicas", "integer", "Pods that are ready." },
	{ "currentReplicas", "integer", "Pods at the current revision." },
	{ "updatedReplicas", "integer", "Pods at the update revision." },
	{ "currentRevision", "string", "The revision of the pods [0, currentReplicas)." },
	{ "updateRevision", "string", "The revision being rolled out." },
	{ "collisionCount", "integer", "Counts hash collisions of the template." },
	{ "conditions", "[]StatefulSetCondition|map:type", "Conditions of the stateful set." },
	{ "availableReplicas", "integer", "Pods available for minReadySeconds." },
	{ 0 }
};

static const OField controller_revision[] = {
	OA_TYPE_META,
	{ "data", "object", "The state of the owner at this revision (its template)." },
	{ "!revision", "integer", "The number of the revision." },
	{ 0 }
};

/* ---- batch/v1 ---- */

static const OField job[] = {
	OA_TYPE_META,
	{ "spec", "JobSpec", "What the job runs and how many successful completions it needs." },
	{ "status", "JobStatus", "The most recently observed progress of the job; read-only." },
	{ 0 }
};

static const OField job_spec[] = {
	{ "parallelism", "integer", "How many pods may run at once; 1 by default." },
	{ "completions", "integer", "How many pods must succeed; unset means any one success finishes the job." },
	{ "activeDeadlineSeconds", "integer", "How long the job may run before it is failed." },
	{ "podFailurePolicy", "PodFailurePolicy", "How pod failures count towards the backoff limit." },
	{ "successPolicy", "SuccessPolicy", "When an Indexed job succeeds before all its indexes do." },
	{ "backoffLimit", "integer", "Retries before the job is marked failed; 6 by default." },
	{ "backoffLimitPerIndex", "integer", "Retries per index of an Indexed job." },
	{ "maxFailedIndexes", "integer", "Failed indexes after which an Indexed job fails." },
	{ "selector", "LabelSelector", "The job's pods; generated by default." },
	{ "manualSelector", "boolean", "Use the selector given instead of a generated one." },
	{ "!template", "PodTemplateSpec", "The pods the job runs; restartPolicy must be Never or OnFailure." },
	{ "ttlSecondsAfterFinished", "integer", "Seconds after finishing when the job is deleted." },
	{ "completionMode", "enum:Indexed,NonIndexed", "Whether each pod gets a completion index; NonIndexed by "
						       "default." },
	{ "suspend", "boolean", "While true, no pods are created and running ones are stopped." },
	{ "podReplacementPolicy", "enum:Failed,TerminatingOrFailed", "When a replacement pod is created." },
	{ "managedBy", "string", "The controller that syncs the job; the built-in one by default." },
	{ 0 }
};

static const OField pod_failure_policy[] = {
	{ "!rules", "[]PodFailurePolicyRule", "Rules checked in order; the first that matches a failed pod applies." },
	{ 0 }
};

static const OField pod_failure_policy_rule[] = {
	{ "!action", "enum:Count,FailIndex,FailJob,Ignore", "What a matching failure does." },
	{ "onExitCodes", "PodFailurePolicyOnExitCodesRequirement", "Matches by container exit codes." },
	{ "onPodConditions", "[]PodFailurePolicyOnPodConditionsPattern", "Matches by pod conditions." },
	{ 0 }
};

static const OField on_exit_codes[] = {
	{ "containerName", "string", "The container checked; every container by default." },
	{ "!operator", "enum:In,NotIn", "How the exit code relates to values." },
	{ "!values", "[]integer", "The exit codes." },
	{ 0 }
};

static const OField on_pod_conditions[] = {
	{ "!type", "string", "The pod condition, such as DisruptionTarget." },
	{ "!status", "string", "The status it must have; True by default." },
	{ 0 }
};

static const OField success_policy[] = {
	{ "!rules", "[]SuccessPolicyRule", "Rules; the job succeeds when any one holds." },
	{ 0 }
};

static const OField success_policy_rule[] = {
	{ "succeededIndexes", "string", "Indexes that must succeed, as a list of ranges such as 1,3-5." },
	{ "succeededCount", "integer", "How many of them (or of all indexes) must succeed." },
	{ 0 }
};

static const OField job_status[] = {
	{ "conditions", "[]JobCondition", "Complete, Failed, Suspended and other conditions." },
	{ "startTime", "date-time", "When the job started." },
	{ "completionTime", "date-time", "When the job completed." },
	{ "active", "integer", "Pods running." },
	{ "succeeded", "integer", "Pods that succeeded." },
	{ "failed", "integer", "Pods that failed." },
	{ "terminating", "integer", "Pods being terminated." },
	{ "completedIndexes", "string", "The indexes that succeeded, as ranges." },
	{ "failedIndexes", "string", "The indexes that failed, as ranges." },
	{ "uncountedTerminatedPods", "UncountedTerminatedPods", "Finished pods not counted yet." },
	{ "ready", "integer", "Pods that are ready." },
	{ 0 }
};

static const OField uncounted_terminated_pods[] = {
	{ "succeeded", "[]string", "UIDs of succeeded pods." },
	{ "failed", "[]string", "UIDs of failed pods." },
	{ 0 }
};

static const OField job_condition[] = {
	{ "!type", "string", "Complete, Failed, Suspended, FailureTarget or SuccessCriteriaMet." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastProbeTime", "date-time", "When the condition was last checked." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

static const OField cron_job[] = {
	OA_TYPE_META,
	{ "spec", "CronJobSpec", "The schedule and the job to run." },
	{ "status", "CronJobStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField cron_job_spec[] = {
	{ "!schedule", "string", "When to run, in cron format." },
	{ "timeZone", "string", "The time zone of the schedule; the controller's by default." },
	{ "startingDeadlineSeconds", "integer", "How late a missed run may still start." },
	{ "concurrencyPolicy", "enum:Allow,Forbid,Replace", "What to do when a run is still going; Allow by default." },
	{ "suspend", "boolean", "While true, no new runs start." },
	{ "!jobTemplate", "JobTemplateSpec", "The job created at each scheduled time." },
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
	{ "active", "[]ObjectReference", "References to the jobs running now." },
	{ "lastScheduleTime", "date-time", "When a job was last scheduled." },
	{ "lastSuccessfulTime", "date-time", "When a job last succeeded." },
	{ 0 }
};

/* ---- networking.k8s.io/v1 ---- */

static const OField ingress[] = {
	OA_TYPE_META,
	{ "spec", "IngressSpec", "How HTTP traffic is routed to services." },
	{ "status", "IngressStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField ingress_spec[] = {
	{ "ingressClassName", "string", "The IngressClass (controller) that implements the ingress." },
	{ "defaultBackend", "IngressBackend", "Where requests no rule matches go." },
	{ "tls", "[]IngressTLS", "TLS settings per group of hosts." },
	{ "rules", "[]IngressRule", "Host and path rules." },
	{ 0 }
};

static const OField ingress_backend[] = {
	{ "service", "IngressServiceBackend", "A service port." },
	{ "resource", "TypedLocalObjectReference", "Another object, such as a storage bucket." },
	{ 0 }
};

static const OField ingress_service_backend[] = {
	{ "!name", "string", "The service in the ingress's namespace." },
	{ "port", "ServiceBackendPort", "Its port." },
	{ 0 }
};

static const OField service_backend_port[] = {
	{ "name", "string", "The port's name." },
	{ "number", "integer", "The port's number." },
	{ 0 }
};

static const OField ingress_tls[] = {
	{ "hosts", "[]string", "The hosts the certificate covers." },
	{ "secretName", "string", "The Secret with the certificate and key." },
	{ 0 }
};

static const OField ingress_rule[] = {
	{ "host", "string", "The host name matched; every host when empty (a leading *. is a wildcard)." },
	{ "http", "HTTPIngressRuleValue", "Path rules." },
	{ 0 }
};

static const OField http_ingress_rule_value[] = {
	{ "!paths", "[]HTTPIngressPath", "The paths and their backends." },
	{ 0 }
};

static const OField http_ingress_path[] = {
	{ "path", "string", "The path matched." },
	{ "!pathType", "enum:Exact,ImplementationSpecific,Prefix", "How the path is matched." },
	{ "!backend", "IngressBackend", "Where matching requests go." },
	{ 0 }
};

static const OField ingress_status[] = {
	{ "loadBalancer", "IngressLoadBalancerStatus", "The addresses of the load balancer." },
	{ 0 }
};

static const OField ingress_lb_status[] = {
	{ "ingress", "[]IngressLoadBalancerIngress", "Its ingress points." },
	{ 0 }
};

static const OField ingress_lb_ingress[] = {
	{ "ip", "string", "An IP address." },
	{ "hostname", "string", "A host name." },
	{ "ports", "[]IngressPortStatus", "The state of each port." },
	{ 0 }
};

static const OField ingress_port_status[] = {
	{ "!port", "integer", "The port." },
	{ "!protocol", PROTOCOL, "Its protocol." },
	{ "error", "string", "Why the port failed, as a CamelCase reason." },
	{ 0 }
};

static const OField network_policy[] = {
	OA_TYPE_META,
	{ "spec", "NetworkPolicySpec", "The pods selected and the traffic they may have." },
	{ 0 }
};

static const OField network_policy_spec[] = {
	{ "!podSelector", "LabelSelector", "The pods of the namespace the policy applies to; all when empty." },
	{ "ingress", "[]NetworkPolicyIngressRule", "Incoming traffic allowed." },
	{ "egress", "[]NetworkPolicyEgressRule", "Outgoing traffic allowed." },
	{ "policyTypes", "[]enum:Egress,Ingress", "The directions the policy restricts." },
	{ 0 }
};

static const OField network_policy_ingress_rule[] = {
	{ "ports", "[]NetworkPolicyPort", "The ports allowed; all when empty." },
	{ "from", "[]NetworkPolicyPeer", "The sources allowed; all when empty." },
	{ 0 }
};

static const OField network_policy_egress_rule[] = {
	{ "ports", "[]NetworkPolicyPort", "The ports allowed; all when empty." },
	{ "to", "[]NetworkPolicyPeer", "The destinations allowed; all when empty." },
	{ 0 }
};

static const OField network_policy_port[] = {
	{ "protocol", PROTOCOL, "The protocol; TCP by default." },
	{ "port", "int-or-string", "A port number or name; all ports when unset." },
	{ "endPort", "integer", "With a numeric port, the end of a range." },
	{ 0 }
};

static const OField network_policy_peer[] = {
	{ "podSelector", "LabelSelector", "Pods, in the namespaces selected (the policy's by default)." },
	{ "namespaceSelector", "LabelSelector", "Namespaces." },
	{ "ipBlock", "IPBlock", "An address range." },
	{ 0 }
};

static const OField ip_block[] = {
	{ "!cidr", "string", "The range, such as 10.0.0.0/8." },
	{ "except", "[]string", "Ranges inside it that are excluded." },
	{ 0 }
};

/* ---- rbac.authorization.k8s.io/v1 ---- */

static const OField role[] = {
	OA_TYPE_META,
	{ "rules", "[]PolicyRule", "What the role allows." },
	{ 0 }
};

static const OField cluster_role[] = {
	OA_TYPE_META,
	{ "rules", "[]PolicyRule", "What the role allows." },
	{ "aggregationRule", "AggregationRule", "Other cluster roles whose rules are merged into this one." },
	{ 0 }
};

static const OField policy_rule[] = {
	{ "!verbs", "[]string", "The verbs allowed (get, list, create...); * for all." },
	{ "apiGroups", "[]string", "The API groups of the resources; \"\" is the core group." },
	{ "resources", "[]string", "The resources (with /subresource); * for all." },
	{ "resourceNames", "[]string", "Only these objects by name." },
	{ "nonResourceURLs", "[]string", "URL paths that are not resources, such as /healthz." },
	{ 0 }
};

static const OField aggregation_rule[] = {
	{ "clusterRoleSelectors", "[]LabelSelector", "Selects the cluster roles aggregated." },
	{ 0 }
};

static const OField role_binding[] = {
	OA_TYPE_META,
	{ "subjects", "[]Subject", "The users, groups and service accounts granted the role." },
	{ "!roleRef", "RoleRef", "The role granted; it cannot change." },
	{ 0 }
};

static const OField subject[] = {
	{ "!kind", "string", "User, Group or ServiceAccount." },
	{ "apiGroup", "string", "rbac.authorization.k8s.io for users and groups, empty for service accounts." },
	{ "!name", "string", "The subject's name." },
	{ "namespace", "string", "The service account's namespace." },
	{ 0 }
};

static const OField role_ref[] = {
	{ "!apiGroup", "string", "rbac.authorization.k8s.io." },
	{ "!kind", "string", "Role or ClusterRole." },
	{ "!name", "string", "The role's name." },
	{ 0 }
};

/* ---- policy/v1 ---- */

static const OField pdb[] = {
	OA_TYPE_META,
	{ "spec", "PodDisruptionBudgetSpec", "The pods protected and how many may be disrupted." },
	{ "status", "PodDisruptionBudgetStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField pdb_spec[] = {
	{ "minAvailable", "int-or-string", "Pods (or a percentage) that must stay available after an eviction." },
	{ "selector", "LabelSelector", "The pods protected." },
	{ "maxUnavailable", "int-or-string", "Pods (or a percentage) that may be unavailable after an eviction." },
	{ "unhealthyPodEvictionPolicy", "enum:AlwaysAllow,IfHealthyBudget", "When pods that are not ready may be "
									    "evicted." },
	{ 0 }
};

static const OField pdb_status[] = {
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "disruptedPods", "map:date-time", "Pods being evicted, with the time of the eviction." },
	{ "!disruptionsAllowed", "integer", "Evictions allowed now." },
	{ "!currentHealthy", "integer", "Healthy pods now." },
	{ "!desiredHealthy", "integer", "Healthy pods wanted at least." },
	{ "!expectedPods", "integer", "Pods counted by the budget." },
	{ "conditions", "[]Condition|map:type", "Conditions such as DisruptionAllowed." },
	{ 0 }
};

/* ---- storage.k8s.io/v1 ---- */

static const OField storage_class[] = {
	OA_TYPE_META,
	{ "!provisioner", "string", "The provisioner that creates volumes of the class." },
	{ "parameters", "map", "Settings passed to the provisioner." },
	{ "reclaimPolicy", "enum:Delete,Recycle,Retain", "The reclaim policy of the volumes; Delete by default." },
	{ "mountOptions", "[]string", "Mount options of the volumes." },
	{ "allowVolumeExpansion", "boolean", "Whether claims of the class may grow." },
	{ "volumeBindingMode", "enum:Immediate,WaitForFirstConsumer", "When claims are provisioned and bound; "
								      "Immediate by default." },
	{ "allowedTopologies", "[]" OA_CORE "TopologySelectorTerm", "Where volumes may be provisioned." },
	{ 0 }
};

static const OField topology_selector_term[] = {
	{ "matchLabelExpressions", "[]TopologySelectorLabelRequirement", "Requirements on labels; all must hold." },
	{ 0 }
};

static const OField topology_selector_label_requirement[] = {
	{ "!key", "string", "The label key." },
	{ "!values", "[]string", "The values allowed." },
	{ 0 }
};

/* ---- discovery.k8s.io/v1 ---- */

static const OField endpoint_slice[] = {
	OA_TYPE_META,
	{ "!addressType", "enum:FQDN,IPv4,IPv6", "The kind of the addresses in the slice." },
	{ "!endpoints", "[]Endpoint", "The endpoints; at most 1000." },
	{ "ports", "[]EndpointPort", "The ports of every endpoint." },
	{ 0 }
};

static const OField endpoint[] = {
	{ "!addresses", "[]string", "The endpoint's addresses." },
	{ "conditions", "EndpointConditions", "Whether it is ready, serving, terminating." },
	{ "hostname", "string", "Its host name." },
	{ "targetRef", "ObjectReference", "The object (a pod) behind it." },
	{ "nodeName", "string", "The node hosting it." },
	{ "zone", "string", "The zone it is in." },
	{ "hints", "EndpointHints", "Routing hints." },
	{ "deprecatedTopology", "map", "Topology labels (deprecated)." },
	{ 0 }
};

static const OField endpoint_conditions[] = {
	{ "ready", "boolean", "Ready for traffic (serving and not terminating)." },
	{ "serving", "boolean", "Passing its readiness checks." },
	{ "terminating", "boolean", "Being terminated." },
	{ 0 }
};

static const OField endpoint_hints[] = {
	{ "forZones", "[]ForZone", "The zones whose clients should use the endpoint." },
	{ 0 }
};

static const OField for_zone[] = {
	{ "!name", "string", "The zone." },
	{ 0 }
};

static const OField endpoint_port[] = {
	{ "name", "string", "The name of the service port." },
	{ "protocol", PROTOCOL, "Its protocol." },
	{ "port", "integer", "The port number." },
	{ "appProtocol", "string", "The application protocol." },
	{ 0 }
};

/* ---- events.k8s.io/v1 ---- */

static const OField event[] = {
	OA_TYPE_META,
	{ "!eventTime", "micro-time", "When the event first happened." },
	{ "series", "EventSeries", "Data on a series of repeats." },
	{ "reportingController", "string", "The controller that emitted the event." },
	{ "reportingInstance", "string", "The instance of that controller." },
	{ "action", "string", "What was done, or failed." },
	{ "reason", "string", "A short CamelCase reason." },
	{ "regarding", "ObjectReference", "The object the event is about." },
	{ "related", "ObjectReference", "A second object involved." },
	{ "note", "string", "A human readable description." },
	{ "type", "string", "Normal or Warning." },
	{ "deprecatedSource", "EventSource", "The reporter, as core/v1 events have it." },
	{ "deprecatedFirstTimestamp", "date-time", "First seen, as core/v1 events have it." },
	{ "deprecatedLastTimestamp", "date-time", "Last seen, as core/v1 events have it." },
	{ "deprecatedCount", "integer", "Repeats, as core/v1 events have it." },
	{ 0 }
};

static const OField event_series[] = {
	{ "!count", "integer", "Repeats in the series." },
	{ "!lastObservedTime", "micro-time", "When the last repeat happened." },
	{ 0 }
};

/* ---- scheduling.k8s.io/v1, coordination.k8s.io/v1 ---- */

static const OField priority_class[] = {
	OA_TYPE_META,
	{ "!value", "integer", "The priority of pods of the class; higher schedules (and preempts) first." },
	{ "globalDefault", "boolean", "Whether pods without a class get this one; at most one class." },
	{ "description", "string", "When to use the class." },
	{ "preemptionPolicy", "enum:Never,PreemptLowerPriority", "Whether pods of the class may preempt others." },
	{ 0 }
};

static const OField lease[] = {
	OA_TYPE_META,
	{ "spec", "LeaseSpec", "Who holds the lease, and until when." },
	{ 0 }
};

static const OField lease_spec[] = {
	{ "holderIdentity", "string", "The current holder." },
	{ "leaseDurationSeconds", "integer", "How long the holder keeps the lease after its last renewal." },
	{ "acquireTime", "micro-time", "When the holder acquired it." },
	{ "renewTime", "micro-time", "When the holder last renewed it." },
	{ "leaseTransitions", "integer", "How many times the holder changed." },
	{ "strategy", "string", "How a coordinated election picks the holder." },
	{ "preferredHolder", "string", "The holder a coordinated election wants next." },
	{ 0 }
};

/* ---- apiextensions.k8s.io/v1 ---- */

static const OField crd[] = {
	OA_TYPE_META,
	{ "!spec", "CustomResourceDefinitionSpec", "The resource the definition adds." },
	{ "status", "CustomResourceDefinitionStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField crd_spec[] = {
	{ "!group", "string", "The API group of the resource." },
	{ "!names", "CustomResourceDefinitionNames", "The names of the resource and its kind." },
	{ "!scope", "string", "Namespaced or Cluster." },
	{ "!versions", "[]CustomResourceDefinitionVersion", "The versions served; exactly one is stored." },
	{ "conversion", "object", "How objects are converted between versions." },
	{ "preserveUnknownFields", "boolean", "Keep fields the schema does not list (deprecated)." },
	{ 0 }
};

static const OField crd_names[] = {
	{ "!plural", "string", "The resource name in URLs, lower case." },
	{ "singular", "string", "The singular name; the lower-case kind by default." },
	{ "shortNames", "[]string", "Short names for the CLI." },
	{ "!kind", "string", "The kind of the objects, in CamelCase." },
	{ "listKind", "string", "The kind of lists; kind + List by default." },
	{ "categories", "[]string", "Groups the resource belongs to, such as all." },
	{ 0 }
};

static const OField crd_version[] = {
	{ "!name", "string", "The version's name, such as v1." },
	{ "!served", "boolean", "Whether the version is served." },
	{ "!storage", "boolean", "Whether objects are stored in this version." },
	{ "deprecated", "boolean", "Whether requests to the version get a warning." },
	{ "deprecationWarning", "string", "The warning sent." },
	{ "schema", "CustomResourceValidation", "The schema of the objects." },
	{ "subresources", "CustomResourceSubresources", "The status and scale subresources." },
	{ "additionalPrinterColumns", "[]CustomResourceColumnDefinition", "Extra columns of kubectl get." },
	{ "selectableFields", "[]SelectableField", "Fields usable in field selectors." },
	{ 0 }
};

static const OField crd_validation[] = {
	{ "openAPIV3Schema", "object", "The OpenAPI v3 schema of the objects." },
	{ 0 }
};

static const OField crd_subresources[] = {
	{ "status", "object", "Present to serve a status subresource." },
	{ "scale", "CustomResourceSubresourceScale", "Serves a scale subresource." },
	{ 0 }
};

static const OField crd_scale[] = {
	{ "!specReplicasPath", "string", "The JSON path of the desired replicas, such as .spec.replicas." },
	{ "!statusReplicasPath", "string", "The JSON path of the observed replicas." },
	{ "labelSelectorPath", "string", "The JSON path of the label selector as a string." },
	{ 0 }
};

static const OField crd_column[] = {
	{ "!name", "string", "The column's header." },
	{ "!type", "string", "integer, number, string, boolean or date." },
	{ "format", "string", "An OpenAPI format of the values." },
	{ "description", "string", "What the column shows." },
	{ "priority", "integer", "0 for the default view, more for -o wide." },
	{ "!jsonPath", "string", "The JSON path of the value in each object." },
	{ 0 }
};

static const OField selectable_field[] = {
	{ "!jsonPath", "string", "The JSON path of the field." },
	{ 0 }
};

static const OField crd_status[] = {
	{ "conditions", "[]CustomResourceDefinitionCondition", "Established, NamesAccepted and more." },
	{ "acceptedNames", "CustomResourceDefinitionNames", "The names actually served." },
	{ "storedVersions", "[]string", "Versions objects were ever stored in." },
	{ 0 }
};

#define T(prefix, name, desc, fields) { prefix name, desc, fields }

const OType api_openapi_apis_types[] = {
	T(OA_META, "ObjectMeta", "Metadata every persisted object has.", object_meta),
	T(OA_META, "OwnerReference", "A reference to an object this one depends on.", owner_reference),
	T(OA_META, "ManagedFieldsEntry", "The fields one manager owns, and how it last wrote them.", managed_fields_entry),
	T(OA_META, "LabelSelector", "A query over labels: all matchLabels and matchExpressions must hold.",
	  label_selector),
	T(OA_META, "LabelSelectorRequirement", "One condition on a label.", label_selector_requirement),
	T(OA_META, "Condition", "One aspect of an object's state.", condition),
	T(APPS, "Deployment", "Declarative updates of a replicated set of pods through ReplicaSets.", deployment),
	T(APPS, "DeploymentSpec", "The desired state of a deployment.", deployment_spec),
	T(APPS, "DeploymentStrategy", "How a deployment replaces old pods with new ones.", deployment_strategy),
	T(APPS, "RollingUpdateDeployment", "The limits of a rolling update.", rolling_update_deployment),
	T(APPS, "DeploymentStatus", "The observed state of a deployment.", deployment_status),
	T(APPS, "DeploymentCondition", "A condition of a deployment.", deployment_condition),
	T(APPS, "ReplicaSet", "Keeps a number of pod replicas running.", replica_set),
	T(APPS, "ReplicaSetSpec", "The desired state of a replica set.", replica_set_spec),
	T(APPS, "ReplicaSetStatus", "The observed state of a replica set.", replica_set_status),
	T(APPS, "ReplicaSetCondition", "A condition of a replica set.", typed_condition),
	T(APPS, "DaemonSet", "Runs a copy of a pod on every eligible node.", daemon_set),
	T(APPS, "DaemonSetSpec", "The desired state of a daemon set.", daemon_set_spec),
	T(APPS, "DaemonSetUpdateStrategy", "How a daemon set replaces its pods.", daemon_set_update_strategy),
	T(APPS, "RollingUpdateDaemonSet", "The limits of a daemon set's rolling update.", rolling_update_daemon_set),
	T(APPS, "DaemonSetStatus", "The observed state of a daemon set.", daemon_set_status),
	T(APPS, "DaemonSetCondition", "A condition of a daemon set.", typed_condition),
	T(APPS, "StatefulSet", "Pods with stable identities and storage, managed in order.", stateful_set),
	T(APPS, "StatefulSetSpec", "The desired state of a stateful set.", stateful_set_spec),
	T(APPS, "StatefulSetUpdateStrategy", "How a stateful set replaces its pods.", stateful_set_update_strategy),
	T(APPS, "RollingUpdateStatefulSetStrategy", "The limits of a stateful set's rolling update.",
	  rolling_update_stateful_set),
	T(APPS, "StatefulSetPersistentVolumeClaimRetentionPolicy", "What happens to the claims of a stateful set.",
	  pvc_retention_policy),
	T(APPS, "StatefulSetOrdinals", "The numbering of a stateful set's pods.", stateful_set_ordinals),
	T(APPS, "StatefulSetStatus", "The observed state of a stateful set.", stateful_set_status),
	T(APPS, "StatefulSetCondition", "A condition of a stateful set.", typed_condition),
	T(APPS, "ControllerRevision", "An immutable snapshot of a controller's template.", controller_revision),
	T(BATCH, "Job", "Runs pods until a number of them complete successfully.", job),
	T(BATCH, "JobSpec", "The desired behavior of a job.", job_spec),
	T(BATCH, "PodFailurePolicy", "How a job treats pod failures.", pod_failure_policy),
	T(BATCH, "PodFailurePolicyRule", "One rule of a pod failure policy.", pod_failure_policy_rule),
	T(BATCH, "PodFailurePolicyOnExitCodesRequirement", "Matches failed pods by exit code.", on_exit_codes),
	T(BATCH, "PodFailurePolicyOnPodConditionsPattern", "Matches failed pods by condition.", on_pod_conditions),
	T(BATCH, "SuccessPolicy", "When an Indexed job counts as succeeded.", success_policy),
	T(BATCH, "SuccessPolicyRule", "One rule of a success policy.", success_policy_rule),
	T(BATCH, "JobStatus", "The observed state of a job.", job_status),
	T(BATCH, "UncountedTerminatedPods", "Finished pods of a job not yet counted in its status.",
	  uncounted_terminated_pods),
	T(BATCH, "JobCondition", "A condition of a job.", job_condition),
	T(BATCH, "JobTemplateSpec", "The template jobs are created from.", job_template_spec),
	T(BATCH, "CronJob", "Creates jobs on a repeating schedule.", cron_job),
	T(BATCH, "CronJobSpec", "The schedule and job of a cron job.", cron_job_spec),
	T(BATCH, "CronJobStatus", "The observed state of a cron job.", cron_job_status),
	T(NET, "Ingress", "HTTP routes from outside the cluster to services.", ingress),
	T(NET, "IngressSpec", "The desired state of an ingress.", ingress_spec),
	T(NET, "IngressBackend", "Where matching requests go.", ingress_backend),
	T(NET, "IngressServiceBackend", "A service as a backend.", ingress_service_backend),
	T(NET, "ServiceBackendPort", "A service port, by name or number.", service_backend_port),
	T(NET, "IngressTLS", "TLS for a group of hosts.", ingress_tls),
	T(NET, "IngressRule", "Routes of one host.", ingress_rule),
	T(NET, "HTTPIngressRuleValue", "Path routes.", http_ingress_rule_value),
	T(NET, "HTTPIngressPath", "One path and its backend.", http_ingress_path),
	T(NET, "IngressStatus", "The observed state of an ingress.", ingress_status),
	T(NET, "IngressLoadBalancerStatus", "The state of an ingress's load balancer.", ingress_lb_status),
	T(NET, "IngressLoadBalancerIngress", "One ingress point.", ingress_lb_ingress),
	T(NET, "IngressPortStatus", "The state of one port.", ingress_port_status),
	T(NET, "NetworkPolicy", "The traffic allowed to and from a set of pods.", network_policy),
	T(NET, "NetworkPolicySpec", "The desired state of a network policy.", network_policy_spec),
	T(NET, "NetworkPolicyIngressRule", "Incoming traffic allowed.", network_policy_ingress_rule),
	T(NET, "NetworkPolicyEgressRule", "Outgoing traffic allowed.", network_policy_egress_rule),
	T(NET, "NetworkPolicyPort", "A port or port range.", network_policy_port),
	T(NET, "NetworkPolicyPeer", "A source or destination.", network_policy_peer),
	T(NET, "IPBlock", "An address range.", ip_block),
	T(RBAC, "Role", "Permissions within one namespace.", role),
	T(RBAC, "ClusterRole", "Permissions across the cluster, or a set reused by role bindings.", cluster_role),
	T(RBAC, "PolicyRule", "Actions allowed on resources or URLs.", policy_rule),
	T(RBAC, "AggregationRule", "How a cluster role gathers others' rules.", aggregation_rule),
	T(RBAC, "RoleBinding", "Grants a role to subjects within a namespace.", role_binding),
	T(RBAC, "ClusterRoleBinding", "Grants a cluster role to subjects across the cluster.", role_binding),
	T(RBAC, "Subject", "A user, group or service account.", subject),
	T(RBAC, "RoleRef", "The role a binding grants.", role_ref),
	T(POLICY, "PodDisruptionBudget", "Limits how many pods of a set voluntary disruptions may take down.", pdb),
	T(POLICY, "PodDisruptionBudgetSpec", "The desired state of a disruption budget.", pdb_spec),
	T(POLICY, "PodDisruptionBudgetStatus", "The observed state of a disruption budget.", pdb_status),
	T(STORAGE, "StorageClass", "A class of dynamically provisioned storage.", storage_class),
	T(OA_CORE, "TopologySelectorTerm", "A query over topology labels.", topology_selector_term),
	T(OA_CORE, "TopologySelectorLabelRequirement", "One condition on a topology label.",
	  topology_selector_label_requirement),
	T(DISC, "EndpointSlice", "A subset of the endpoints of a service.", endpoint_slice),
	T(DISC, "Endpoint", "One endpoint of a service.", endpoint),
	T(DISC, "EndpointConditions", "The state of an endpoint.", endpoint_conditions),
	T(DISC, "EndpointHints", "Routing hints of an endpoint.", endpoint_hints),
	T(DISC, "ForZone", "A zone an endpoint serves.", for_zone),
	T(DISC, "EndpointPort", "A port of the endpoints of a slice.", endpoint_port),
	T(EVENTS, "Event", "A report of something that happened to an object.", event),
	T(EVENTS, "EventSeries", "A series of repeats of an event.", event_series),
	T(SCHED, "PriorityClass", "Maps a class name to a pod priority.", priority_class),
	T(COORD, "Lease", "A lease for leader election or heartbeats.", lease),
	T(COORD, "LeaseSpec", "The desired state of a lease.", lease_spec),
	T(APIEXT, "CustomResourceDefinition", "Adds a resource to the API.", crd),
	T(APIEXT, "CustomResourceDefinitionSpec", "The resource a definition adds.", crd_spec),
	T(APIEXT, "CustomResourceDefinitionNames", "The names of a custom resource.", crd_names),
	T(APIEXT, "CustomResourceDefinitionVersion", "One version of a custom resource.", crd_version),
	T(APIEXT, "CustomResourceValidation", "The schema of a version.", crd_validation),
	T(APIEXT, "CustomResourceSubresources", "The subresources of a version.", crd_subresources),
	T(APIEXT, "CustomResourceSubresourceScale", "How the scale subresource maps to the object.", crd_scale),
	T(APIEXT, "CustomResourceColumnDefinition", "An extra column of kubectl get.", crd_column),
	T(APIEXT, "SelectableField", "A field usable in field selectors.", selectable_field),
	T(APIEXT, "CustomResourceDefinitionStatus", "The observed state of a definition.", crd_status),
	T(APIEXT, "CustomResourceDefinitionCondition", "A condition of a definition.", typed_condition),
	{ NULL, NULL, NULL }
};
