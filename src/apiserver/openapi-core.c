/* openapi-core.c - the schemas of core/v1's pod (its whole tree: containers,
 * probes, security contexts, affinity, volumes, status) for openapi.c, which
 * turns them into the OpenAPI v3 documents `kubectl explain` reads; the
 * other core kinds are in openapi-core-kinds.c.  Field names, types,
 * required markers and enums follow the Kubernetes API; the descriptions are
 * this project's own one-line summaries.
 */
#include "openapi-internal.h"
#include <stddef.h>

#define PROTOCOL "enum:SCTP,TCP,UDP"
#define TAINT_EFFECT "enum:NoExecute,NoSchedule,PreferNoSchedule"
#define PROFILE_TYPE "enum:Localhost,RuntimeDefault,Unconfined"
#define PULL_POLICY "enum:Always,IfNotPresent,Never"
#define ACCESS_MODES "[]enum:ReadOnlyMany,ReadWriteMany,ReadWriteOnce,ReadWriteOncePod"

/* ---- pods ---- */

static const OField pod[] = {
	OA_TYPE_META,
	{ "spec", "PodSpec", "The desired behavior of the pod: its containers, volumes and scheduling." },
	{ "status", "PodStatus", "The most recently observed state of the pod, reported by its node; read-only." },
	{ 0 }
};

static const OField pod_spec[] = {
	{ "volumes", "[]Volume|map:name;merge,retainKeys", "Volumes the pod's containers can mount." },
	{ "initContainers", "[]Container|map:name", "Containers run to completion, in order, before the regular containers "
					   "start; with restartPolicy Always an init container is a sidecar." },
	{ "!containers", "[]Container|map:name", "The containers of the pod; at least one.  They cannot be added or removed "
					"once the pod exists." },
	{ "ephemeralContainers", "[]EphemeralContainer|map:name", "Debugging containers added to a running pod through the "
							 "ephemeralcontainers subresource." },
	{ "restartPolicy", "enum:Always,Never,OnFailure", "What happens to a container that exits; Always by default." },
	{ "terminationGracePeriodSeconds", "integer", "Seconds between the termination signal and the kill; 30 by "
						      "default." },
	{ "activeDeadlineSeconds", "integer", "How long the pod may run before it is failed." },
	{ "dnsPolicy", "enum:ClusterFirst,ClusterFirstWithHostNet,Default,None", "How the pod's resolv.conf is set "
										  "up; ClusterFirst by default." },
	{ "nodeSelector", "map", "Labels a node must have for the pod to be scheduled on it." },
	{ "serviceAccountName", "string", "The ServiceAccount whose identity the pod runs with." },
	{ "serviceAccount", "string", "Old name of serviceAccountName; use that instead." },
	{ "automountServiceAccountToken", "boolean", "Whether the ServiceAccount token is mounted." },
	{ "nodeName", "string", "The node the pod is bound to; set by the scheduler." },
	{ "hostNetwork", "boolean", "Use the node's network namespace." },
	{ "hostPID", "boolean", "Use the node's PID namespace." },
	{ "hostIPC", "boolean", "Use the node's IPC namespace." },
	{ "shareProcessNamespace", "boolean", "Share one PID namespace between the pod's containers." },
	{ "securityContext", "PodSecurityContext", "Security settings for every container of the pod." },
	{ "imagePullSecrets", "[]LocalObjectReference|map:name", "Secrets with registry credentials for pulling images." },
	{ "hostname", "string", "The pod's hostname; the pod name by default." },
	{ "subdomain", "string", "With hostname, gives the pod a DNS name under a headless Service." },
	{ "affinity", "Affinity", "Node and pod (anti-)affinity scheduling constraints." },
	{ "schedulerName", "string", "The scheduler that places the pod; default-scheduler by default." },
	{ "tolerations", "[]Toleration", "Taints the pod tolerates." },
	{ "hostAliases", "[]HostAlias|map:ip", "Extra entries for the pod's /etc/hosts." },
	{ "priorityClassName", "string", "The priority class of the pod." },
	{ "priority", "integer", "The pod's priority, resolved from its priority class." },
	{ "dnsConfig", "PodDNSConfig", "Resolver settings merged into those dnsPolicy produces." },
	{ "readinessGates", "[]PodReadinessGate", "Extra conditions that must be true for the pod to be ready." },
	{ "runtimeClassName", "string", "The RuntimeClass that runs the pod." },
	{ "enableServiceLinks", "boolean", "Whether Service environment variables are injected; true by default." },
	{ "preemptionPolicy", "enum:Never,PreemptLowerPriority", "Whether the pod may preempt lower-priority pods." },
	{ "overhead", "map:quantity", "Resources the pod's sandbox uses besides its containers." },
	{ "topologySpreadConstraints", "[]TopologySpreadConstraint|map:topologyKey,whenUnsatisfiable",
	  "How the pods of a group spread across topology domains." },
	{ "setHostnameAsFQDN", "boolean", "Make the pod's hostname its fully qualified domain name." },
	{ "os", "PodOS", "The operating system the pod's containers need." },
	{ "hostUsers", "boolean", "Use the node's user namespace; false gives the pod its own." },
	{ "schedulingGates", "[]PodSchedulingGate|map:name", "Gates that keep the pod from being scheduled while present." },
	{ "resourceClaims", "[]PodResourceClaim|map:name;merge,retainKeys", "Dynamic resources the pod's containers "
										   "may use." },
	{ 0 }
};

/* Container and EphemeralContainer share every field but one. */
#define CONTAINER_FIELDS                                                                                             \
	{ "!name", "string", "The container's name, a DNS label unique within the pod." },                           \
	{ "image", "string", "The image to run." },                                                                   \
	{ "command", "[]string", "The entrypoint; replaces the image's ENTRYPOINT.  $(VAR) references are "           \
				 "expanded." },                                                                       \
	{ "args", "[]string", "Arguments to the entrypoint; replace the image's CMD." },                             \
	{ "workingDir", "string", "The working directory; the image's by default." },                                \
	{ "ports", "[]ContainerPort|map:containerPort,protocol", "Ports the container exposes (informational; every " \
							 "port is reachable)." },                                    \
	{ "envFrom", "[]EnvFromSource", "ConfigMaps and Secrets whose keys become environment variables." },         \
	{ "env", "[]EnvVar|map:name", "Environment variables to set." },                                             \
	{ "resources", "ResourceRequirements", "CPU and memory the container requests and may use at most." },       \
	{ "resizePolicy", "[]ContainerResizePolicy", "Whether a change of each resource restarts the container." },  \
	{ "restartPolicy", "string", "For init containers only: Always makes it a sidecar that runs beside the "     \
				     "regular containers." },                                                         \
	{ "volumeMounts", "[]VolumeMount|map:mountPath", "Where the pod's volumes appear in the container's "        \
							 "filesystem." },                                            \
	{ "volumeDevices", "[]VolumeDevice|map:devicePath", "Block volumes exposed to the container as devices." },  \
	{ "livenessProbe", "Probe", "A check whose failure restarts the container." },                               \
	{ "readinessProbe", "Probe", "A check whose failure removes the pod from Service endpoints." },              \
	{ "startupProbe", "Probe", "A check that holds off the other probes until the container has started." },     \
	{ "lifecycle", "Lifecycle", "Hooks run after start and before stop." },                                      \
	{ "terminationMessagePath", "string", "The file whose content becomes the termination message." },           \
	{ "terminationMessagePolicy", "enum:FallbackToLogsOnError,File", "Where the termination message comes "     \
									 "from; File by default." },                  \
	{ "imagePullPolicy", PULL_POLICY, "When the image is pulled; Always for :latest, IfNotPresent otherwise." }, \
	{ "securityContext", "SecurityContext", "Security settings of this container." },                            \
	{ "stdin", "boolean", "Keep a stdin open for the container." },                                               \
	{ "stdinOnce", "boolean", "Close stdin after the first attached client disconnects." },                      \
	{ "tty", "boolean", "Allocate a terminal for the container." }

static const OField container[] = { CONTAINER_FIELDS, { 0 } };

static const OField ephemeral_container[] = {
	CONTAINER_FIELDS,
	{ "targetContainerName", "string", "The container whose namespaces (PID above all) this one joins." },
	{ 0 }
};

static const OField container_port[] = {
	{ "name", "string", "A name Services can refer to the port by." },
	{ "hostPort", "integer", "A port on the node forwarded to this one." },
	{ "!containerPort", "integer", "The port number on the pod's IP." },
	{ "protocol", PROTOCOL, "The port's protocol; TCP by default." },
	{ "hostIP", "string", "The node address the host port binds." },
	{ 0 }
};

static const OField env_var[] = {
	{ "!name", "string", "The variable's name." },
	{ "value", "string", "The value; $(VAR) references to earlier variables are expanded." },
	{ "valueFrom", "EnvVarSource", "Where the value comes from instead of value." },
	{ 0 }
};

static const OField env_var_source[] = {
	{ "fieldRef", "ObjectFieldSelector", "A field of the pod, such as metadata.name or status.podIP." },
	{ "resourceFieldRef", "ResourceFieldSelector", "A resource limit or request of a container." },
	{ "configMapKeyRef", "ConfigMapKeySelector", "A key of a ConfigMap in the pod's namespace." },
	{ "secretKeyRef", "SecretKeySelector", "A key of a Secret in the pod's namespace." },
	{ 0 }
};

static const OField object_field_selector[] = {
	{ "apiVersion", "string", "The version fieldPath is written in; v1 by default." },
	{ "!fieldPath", "string", "The path of the field to select." },
	{ 0 }
};

static const OField resource_field_selector[] = {
	{ "containerName", "string", "The container whose resources are read; required for volumes." },
	{ "!resource", "string", "The resource to select, such as limits.cpu or requests.memory." },
	{ "divisor", "quantity", "The unit the value is expressed in; 1 by default." },
	{ 0 }
};

static const OField key_selector[] = {
	{ "name", "string", "The name of the object in the pod's namespace." },
	{ "!key", "string", "The key to select." },
	{ "optional", "boolean", "Whether the object or its key may be missing." },
	{ 0 }
};

static const OField env_from_source[] = {
	{ "prefix", "string", "A prefix put before every variable name." },
	{ "configMapRef", "ConfigMapEnvSource", "The ConfigMap whose keys become variables." },
	{ "secretRef", "SecretEnvSource", "The Secret whose keys become variables." },
	{ 0 }
};

static const OField optional_ref[] = {
	{ "name", "string", "The name of the object in the pod's namespace." },
	{ "optional", "boolean", "Whether the object may be missing." },
	{ 0 }
};

static const OField resource_requirements[] = {
	{ "limits", "map:quantity", "The most of each resource the container may use." },
	{ "requests", "map:quantity", "The amount of each resource the scheduler reserves for the container; the "
				      "limits by default." },
	{ "claims", "[]ResourceClaim", "Which of the pod's resource claims the container uses." },
	{ 0 }
};

static const OField resource_claim[] = {
	{ "!name", "string", "The name of an entry of the pod's resourceClaims." },
	{ "request", "string", "One request of the claim; all of them when empty." },
	{ 0 }
};

static const OField container_resize_policy[] = {
	{ "!resourceName", "string", "The resource the policy is for: cpu or memory." },
	{ "!restartPolicy", "string", "NotRequired or RestartContainer." },
	{ 0 }
};

static const OField volume_mount[] = {
	{ "!name", "string", "The volume to mount." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ "recursiveReadOnly", "string", "Whether read-only applies to submounts too: Disabled, IfPossible or "
					 "Enabled." },
	{ "!mountPath", "string", "Where in the container the volume appears." },
	{ "subPath", "string", "A path inside the volume to mount instead of its root." },
	{ "mountPropagation", "enum:Bidirectional,HostToContainer,None", "How mounts propagate between the host and "
									 "the container." },
	{ "subPathExpr", "string", "Like subPath, with $(VAR) references to the container's environment." },
	{ 0 }
};

static const OField volume_device[] = {
	{ "!name", "string", "The persistent volume claim of the pod to expose." },
	{ "!devicePath", "string", "The device's path in the container." },
	{ 0 }
};

static const OField probe[] = {
	{ "exec", "ExecAction", "Run a command in the container; exit status 0 is success." },
	{ "httpGet", "HTTPGetAction", "An HTTP GET; a status from 200 to 399 is success." },
	{ "tcpSocket", "TCPSocketAction", "A TCP connection; opening it is success." },
	{ "grpc", "GRPCAction", "A gRPC health check; SERVING is success." },
	{ "initialDelaySeconds", "integer", "Seconds after start before the first probe." },
	{ "timeoutSeconds", "integer", "Seconds before a probe times out; 1 by default." },
	{ "periodSeconds", "integer", "Seconds between probes; 10 by default." },
	{ "successThreshold", "integer", "Consecutive successes that count as success after a failure; 1 by "
					 "default." },
	{ "failureThreshold", "integer", "Consecutive failures that count as failure; 3 by default." },
	{ "terminationGracePeriodSeconds", "integer", "The grace period when a failed probe kills the container, "
						      "instead of the pod's." },
	{ 0 }
};

static const OField exec_action[] = {
	{ "command", "[]string", "The command and its arguments, run without a shell." },
	{ 0 }
};

static const OField http_get_action[] = {
	{ "path", "string", "The path to request." },
	{ "!port", "int-or-string", "The port number or name to connect to." },
	{ "host", "string", "The host to connect to; the pod IP by default." },
	{ "scheme", "enum:HTTP,HTTPS", "The scheme; HTTP by default." },
	{ "httpHeaders", "[]HTTPHeader", "Extra request headers." },
	{ 0 }
};

static const OField http_header[] = {
	{ "!name", "string", "The header name." },
	{ "!value", "string", "The header value." },
	{ 0 }
};

static const OField tcp_socket_action[] = {
	{ "!port", "int-or-string", "The port number or name to connect to." },
	{ "host", "string", "The host to connect to; the pod IP by default." },
	{ 0 }
};

static const OField grpc_action[] = {
	{ "!port", "integer", "The port of the gRPC service." },
	{ "service", "string", "The service name sent in the health check request." },
	{ 0 }
};

static const OField lifecycle[] = {
	{ "postStart", "LifecycleHandler", "Run right after the container is created." },
	{ "preStop", "LifecycleHandler", "Run before the container is stopped." },
	{ 0 }
};

static const OField lifecycle_handler[] = {
	{ "exec", "ExecAction", "Run a command in the container." },
	{ "httpGet", "HTTPGetAction", "Send an HTTP GET." },
	{ "tcpSocket", "TCPSocketAction", "Open a TCP connection (kept for compatibility)." },
	{ "sleep", "SleepAction", "Sleep for a while." },
	{ 0 }
};

static const OField sleep_action[] = {
	{ "!seconds", "integer", "How long to sleep." },
	{ 0 }
};

static const OField security_context[] = {
	{ "capabilities", "Capabilities", "Capabilities to add to or drop from the runtime's default set." },
	{ "privileged", "boolean", "Run with every capability and device of the host." },
	{ "seLinuxOptions", "SELinuxOptions", "The SELinux context of the container." },
	{ "windowsOptions", "WindowsSecurityContextOptions", "Settings for Windows containers." },
	{ "runAsUser", "integer", "The UID the entrypoint runs as; the image's by default." },
	{ "runAsGroup", "integer", "The GID the entrypoint runs as." },
	{ "runAsNonRoot", "boolean", "Refuse to start the container if it would run as UID 0." },
	{ "readOnlyRootFilesystem", "boolean", "Mount the root filesystem read-only." },
	{ "allowPrivilegeEscalation", "boolean", "Whether a process may gain more privileges than its parent "
						 "(no_new_privs unset)." },
	{ "procMount", "enum:Default,Unmasked", "How /proc is masked." },
	{ "seccompProfile", "SeccompProfile", "The seccomp profile of the container." },
	{ "appArmorProfile", "AppArmorProfile", "The AppArmor profile of the container." },
	{ 0 }
};

static const OField pod_security_context[] = {
	{ "seLinuxOptions", "SELinuxOptions", "The SELinux context of every container." },
	{ "windowsOptions", "WindowsSecurityContextOptions", "Settings for Windows containers." },
	{ "runAsUser", "integer", "The UID the containers' entrypoints run as." },
	{ "runAsGroup", "integer", "The GID the containers' entrypoints run as." },
	{ "runAsNonRoot", "boolean", "Refuse to start a container that would run as UID 0." },
	{ "supplementalGroups", "[]integer", "Extra groups of the first process of every container." },
	{ "supplementalGroupsPolicy", "enum:Merge,Strict", "Whether the image's groups are added to "
							   "supplementalGroups." },
	{ "fsGroup", "integer", "A group that owns the pod's volumes and is added to every container." },
	{ "fsGroupChangePolicy", "enum:Always,OnRootMismatch", "When volume ownership is changed to fsGroup." },
	{ "sysctls", "[]Sysctl", "Namespaced kernel parameters set for the pod." },
	{ "seccompProfile", "SeccompProfile", "The seccomp profile of every container." },
	{ "appArmorProfile", "AppArmorProfile", "The AppArmor profile of every container." },
	{ 0 }
};

static const OField capabilities[] = {
	{ "add", "[]string", "Capabilities to add, such as NET_ADMIN." },
	{ "drop", "[]string", "Capabilities to remove; ALL removes every one." },
	{ 0 }
};

static const OField selinux_options[] = {
	{ "user", "string", "The SELinux user." },
	{ "role", "string", "The SELinux role." },
	{ "type", "string", "The SELinux type." },
	{ "level", "string", "The SELinux level." },
	{ 0 }
};

static const OField seccomp_profile[] = {
	{ "!type", PROFILE_TYPE, "Which kind of profile applies." },
	{ "localhostProfile", "string", "With Localhost: the profile's path under the node's seccomp directory." },
	{ 0 }
};

static const OField apparmor_profile[] = {
	{ "!type", PROFILE_TYPE, "Which kind of profile applies." },
	{ "localhostProfile", "string", "With Localhost: the name of a profile loaded on the node." },
	{ 0 }
};

static const OField windows_options[] = {
	{ "gmsaCredentialSpecName", "string", "The name of the GMSA credential spec to use." },
	{ "gmsaCredentialSpec", "string", "The GMSA credential spec itself." },
	{ "runAsUserName", "string", "The Windows user the entrypoint runs as." },
	{ "hostProcess", "boolean", "Run as a host process container." },
	{ 0 }
};

static const OField sysctl[] = {
	{ "!name", "string", "The kernel parameter." },
	{ "!value", "string", "Its value." },
	{ 0 }
};

static const OField affinity[] = {
	{ "nodeAffinity", "NodeAffinity", "Rules on the labels of the node." },
	{ "podAffinity", "PodAffinity", "Rules that bring the pod near other pods." },
	{ "podAntiAffinity", "PodAntiAffinity", "Rules that keep the pod away from other pods." },
	{ 0 }
};

static const OField node_affinity[] = {
	{ "requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector", "Terms a node must match for the pod to "
									     "be placed on it." },
	{ "preferredDuringSchedulingIgnoredDuringExecution", "[]PreferredSchedulingTerm", "Weighted terms that make "
											  "a node score higher." },
	{ 0 }
};

static const OField node_selector[] = {
	{ "!nodeSelectorTerms", "[]NodeSelectorTerm", "The terms; a node matching any one of them matches." },
	{ 0 }
};

static const OField node_selector_term[] = {
	{ "matchExpressions", "[]NodeSelectorRequirement", "Requirements on the node's labels; all must hold." },
	{ "matchFields", "[]NodeSelectorRequirement", "Requirements on the node's fields (metadata.name); all must "
						      "hold." },
	{ 0 }
};

static const OField node_selector_requirement[] = {
	{ "!key", "string", "The label key (or field) the requirement applies to." },
	{ "!operator", "enum:DoesNotExist,Exists,Gt,In,Lt,NotIn", "How the key relates to the values." },
	{ "values", "[]string", "The values; one integer for Gt and Lt, none for Exists and DoesNotExist." },
	{ 0 }
};

static const OField preferred_scheduling_term[] = {
	{ "!weight", "integer", "The weight, 1 to 100, added to the score of a matching node." },
	{ "!preference", "NodeSelectorTerm", "The term a node should match." },
	{ 0 }
};

static const OField pod_affinity[] = {
	{ "requiredDuringSchedulingIgnoredDuringExecution", "[]PodAffinityTerm", "Terms that must all hold where "
										 "the pod is placed." },
	{ "preferredDuringSchedulingIgnoredDuringExecution", "[]WeightedPodAffinityTerm", "Weighted terms that make "
											  "a node score higher." },
	{ 0 }
};

static const OField pod_anti_affinity[] = {
	{ "requiredDuringSchedulingIgnoredDuringExecution", "[]PodAffinityTerm", "Terms that must all fail where "
										 "the pod is placed." },
	{ "preferredDuringSchedulingIgnoredDuringExecution", "[]WeightedPodAffinityTerm", "Weighted terms whose "
											  "match lowers a node's score." },
	{ 0 }
};

static const OField pod_affinity_term[] = {
	{ "labelSelector", "LabelSelector", "The pods the term is about." },
	{ "namespaces", "[]string", "The namespaces of those pods; the pod's own by default." },
	{ "!topologyKey", "string", "The node label whose value defines a domain (a node, a zone...)." },
	{ "namespaceSelector", "LabelSelector", "Selects the namespaces of those pods, besides namespaces." },
	{ "matchLabelKeys", "[]string", "Label keys whose values on the incoming pod are added to labelSelector." },
	{ "mismatchLabelKeys", "[]string", "Label keys whose values on the incoming pod must differ." },
	{ 0 }
};

static const OField weighted_pod_affinity_term[] = {
	{ "!weight", "integer", "The weight, 1 to 100, of the term." },
	{ "!podAffinityTerm", "PodAffinityTerm", "The term." },
	{ 0 }
};

static const OField toleration[] = {
	{ "key", "string", "The taint key tolerated; empty with Exists tolerates every taint." },
	{ "operator", "enum:Equal,Exists", "How the key relates to the value; Equal by default." },
	{ "value", "string", "The taint value tolerated, with Equal." },
	{ "effect", TAINT_EFFECT, "The taint effect tolerated; empty matches all." },
	{ "tolerationSeconds", "integer", "How long a NoExecute taint is tolerated before eviction." },
	{ 0 }
};

static const OField topology_spread_constraint[] = {
	{ "!maxSkew", "integer", "How uneven the distribution of matching pods across domains may be." },
	{ "!topologyKey", "string", "The node label whose value defines a domain." },
	{ "!whenUnsatisfiable", "enum:DoNotSchedule,ScheduleAnyway", "What to do with a pod that would break the "
								     "constraint." },
	{ "labelSelector", "LabelSelector", "The pods counted in each domain." },
	{ "minDomains", "integer", "The minimum number of eligible domains." },
	{ "nodeAffinityPolicy", "enum:Honor,Ignore", "Whether the pod's node affinity limits the domains counted." },
	{ "nodeTaintsPolicy", "enum:Honor,Ignore", "Whether node taints limit the domains counted." },
	{ "matchLabelKeys", "[]string", "Label keys whose values on the incoming pod are added to labelSelector." },
	{ 0 }
};

static const OField host_alias[] = {
	{ "!ip", "string", "The IP address of the entry." },
	{ "hostnames", "[]string", "Host names for the address." },
	{ 0 }
};

static const OField pod_dns_config[] = {
	{ "nameservers", "[]string", "Extra name server addresses." },
	{ "searches", "[]string", "Extra search domains." },
	{ "options", "[]PodDNSConfigOption", "Resolver options." },
	{ 0 }
};

static const OField pod_dns_config_option[] = {
	{ "name", "string", "The option, such as ndots." },
	{ "value", "string", "Its value, if it takes one." },
	{ 0 }
};

static const OField pod_readiness_gate[] = {
	{ "!conditionType", "string", "A condition type in the pod's conditions." },
	{ 0 }
};

static const OField pod_os[] = {
	{ "!name", "string", "linux or windows." },
	{ 0 }
};

static const OField name_only[] = {
	{ "!name", "string", "The name." },
	{ 0 }
};

static const OField pod_resource_claim[] = {
	{ "!name", "string", "The claim's name within the pod." },
	{ "resourceClaimName", "string", "An existing ResourceClaim in the pod's namespace." },
	{ "resourceClaimTemplateName", "string", "A template a claim is made from for this pod." },
	{ 0 }
};

static const OField local_object_reference[] = {
	{ "name", "string", "The name of the object in the same namespace." },
	{ 0 }
};

/* ---- volumes ---- */

static const OField volume[] = {
	{ "!name", "string", "The volume's name, referred to by volume mounts." },
	{ "emptyDir", "EmptyDirVolumeSource", "A directory that lives as long as the pod." },
	{ "hostPath", "HostPathVolumeSource", "A file or directory of the node." },
	{ "configMap", "ConfigMapVolumeSource", "The keys of a ConfigMap as files." },
	{ "secret", "SecretVolumeSource", "The keys of a Secret as files." },
	{ "persistentVolumeClaim", "PersistentVolumeClaimVolumeSource", "A PersistentVolumeClaim's volume." },
	{ "projected", "ProjectedVolumeSource", "Several sources (tokens, ConfigMaps, Secrets, downward API) in one "
						"directory." },
	{ "downwardAPI", "DownwardAPIVolumeSource", "Fields of the pod as files." },
	{ "csi", "CSIVolumeSource", "A volume of a CSI driver that lives with the pod." },
	{ "ephemeral", "EphemeralVolumeSource", "A claim made for the pod and deleted with it." },
	{ "nfs", "NFSVolumeSource", "An NFS export." },
	{ "image", "ImageVolumeSource", "The content of an OCI image, read-only." },
	{ "iscsi", "object", "An iSCSI disk." },
	{ "fc", "object", "A Fibre Channel disk." },
	{ "rbd", "object", "A Ceph RBD image." },
	{ "cephfs", "object", "A CephFS mount." },
	{ "glusterfs", "object", "A Glusterfs mount (no longer supported)." },
	{ "flexVolume", "object", "A volume of a FlexVolume driver." },
	{ "gitRepo", "object", "A git repository cloned into an empty directory (deprecated)." },
	{ "awsElasticBlockStore", "object", "An AWS EBS disk (served by the CSI driver now)." },
	{ "gcePersistentDisk", "object", "A GCE persistent disk (served by the CSI driver now)." },
	{ "azureDisk", "object", "An Azure data disk (served by the CSI driver now)." },
	{ "azureFile", "object", "An Azure file share (served by the CSI driver now)." },
	{ "cinder", "object", "An OpenStack Cinder volume (served by the CSI driver now)." },
	{ "vsphereVolume", "object", "A vSphere volume (served by the CSI driver now)." },
	{ "flocker", "object", "A Flocker dataset (no longer supported)." },
	{ "quobyte", "object", "A Quobyte volume (no longer supported)." },
	{ "photonPersistentDisk", "object", "A Photon disk (no longer supported)." },
	{ "portworxVolume", "object", "A Portworx volume." },
	{ "scaleIO", "object", "A ScaleIO volume (no longer supported)." },
	{ "storageos", "object", "A StorageOS volume (no longer supported)." },
	{ 0 }
};

static const OField empty_dir[] = {
	{ "medium", "string", "Memory for a tmpfs; the node's disk by default." },
	{ "sizeLimit", "quantity", "The most the directory may hold." },
	{ 0 }
};

static const OField host_path[] = {
	{ "!path", "string", "The path on the node." },
	{ "type", "enum:,BlockDevice,CharDevice,Directory,DirectoryOrCreate,File,FileOrCreate,Socket", "What must "
		 "be at the path; no check by default." },
	{ 0 }
};

static const OField config_map_volume[] = {
	{ "name", "string", "The ConfigMap in the pod's namespace." },
	{ "items", "[]KeyToPath", "Which keys to project, and where; every key by default." },
	{ "defaultMode", "integer", "The mode of the files; 0644 by default." },
	{ "optional", "boolean", "Whether the ConfigMap or its keys may be missing." },
	{ 0 }
};

static const OField secret_volume[] = {
	{ "secretName", "string", "The Secret in the pod's namespace." },
	{ "items", "[]KeyToPath", "Which keys to project, and where; every key by default." },
	{ "defaultMode", "integer", "The mode of the files; 0644 by default." },
	{ "optional", "boolean", "Whether the Secret or its keys may be missing." },
	{ 0 }
};

static const OField key_to_path[] = {
	{ "!key", "string", "The key to project." },
	{ "!path", "string", "The relative file path it becomes." },
	{ "mode", "integer", "The file's mode; defaultMode by default." },
	{ 0 }
};

static const OField pvc_volume[] = {
	{ "!claimName", "string", "The claim in the pod's namespace." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ 0 }
};

static const OField projected_volume[] = {
	{ "sources", "[]VolumeProjection", "The sources, merged into one directory." },
	{ "defaultMode", "integer", "The mode of the files; 0644 by default." },
	{ 0 }
};

static const OField volume_projection[] = {
	{ "secret", "SecretProjection", "Keys of a Secret." },
	{ "configMap", "ConfigMapProjection", "Keys of a ConfigMap." },
	{ "downwardAPI", "DownwardAPIProjection", "Fields of the pod." },
	{ "serviceAccountToken", "ServiceAccountTokenProjection", "A token of the pod's ServiceAccount." },
	{ "clusterTrustBundle", "ClusterTrustBundleProjection", "Certificates of ClusterTrustBundles." },
	{ 0 }
};

static const OField key_projection[] = {
	{ "name", "string", "The object in the pod's namespace." },
	{ "items", "[]KeyToPath", "Which keys to project, and where; every key by default." },
	{ "optional", "boolean", "Whether the object or its keys may be missing." },
	{ 0 }
};

static const OField downward_api_projection[] = {
	{ "items", "[]DownwardAPIVolumeFile", "The files to create." },
	{ 0 }
};

static const OField sa_token_projection[] = {
	{ "audience", "string", "The audience of the token; the API server's by default." },
	{ "expirationSeconds", "integer", "The token's requested lifetime; one hour by default." },
	{ "!path", "string", "The file the token is written to." },
	{ 0 }
};

static const OField cluster_trust_bundle_projection[] = {
	{ "name", "string", "One ClusterTrustBundle by name." },
	{ "signerName", "string", "The bundles of this signer." },
	{ "labelSelector", "LabelSelector", "With signerName, the bundles with these labels." },
	{ "optional", "boolean", "Whether no bundle may match." },
	{ "!path", "string", "The file the certificates are written to." },
	{ 0 }
};

static const OField downward_api_volume[] = {
	{ "items", "[]DownwardAPIVolumeFile", "The files to create." },
	{ "defaultMode", "integer", "The mode of the files; 0644 by default." },
	{ 0 }
};

static const OField downward_api_file[] = {
	{ "!path", "string", "The relative file path." },
	{ "fieldRef", "ObjectFieldSelector", "A field of the pod: metadata.name, namespace, labels, annotations." },
	{ "resourceFieldRef", "ResourceFieldSelector", "A resource limit or request of a container." },
	{ "mode", "integer", "The file's mode; defaultMode by default." },
	{ 0 }
};

static const OField csi_volume[] = {
	{ "!driver", "string", "The CSI driver's name." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ "fsType", "string", "The filesystem type, such as ext4." },
	{ "volumeAttributes", "map", "Driver-specific properties." },
	{ "nodePublishSecretRef", "LocalObjectReference", "A Secret passed to the driver's publish calls." },
	{ 0 }
};

static const OField ephemeral_volume[] = {
	{ "volumeClaimTemplate", "PersistentVolumeClaimTemplate", "The claim created for the pod." },
	{ 0 }
};

static const OField pvc_template[] = {
	{ "metadata", "ObjectMeta", "Labels and annotations copied to the claim." },
	{ "!spec", "PersistentVolumeClaimSpec", "The claim's specification." },
	{ 0 }
};

static const OField nfs_volume[] = {
	{ "!server", "string", "The NFS server's host name or address." },
	{ "!path", "string", "The exported path." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ 0 }
};

static const OField image_volume[] = {
	{ "reference", "string", "The image reference." },
	{ "pullPolicy", PULL_POLICY, "When the image is pulled." },
	{ 0 }
};

/* ---- pod status ---- */

static const OField pod_status[] = {
	{ "phase", "enum:Failed,Pending,Running,Succeeded,Unknown", "Where the pod is in its lifecycle." },
	{ "conditions", "[]PodCondition|map:type", "Conditions of the pod such as PodScheduled and Ready." },
	{ "message", "string", "A human readable note on why the pod is in this state." },
	{ "reason", "string", "A short CamelCase reason for the state, such as Evicted." },
	{ "nominatedNodeName", "string", "The node a preempting pod waits for." },
	{ "hostIP", "string", "The IP of the node running the pod." },
	{ "hostIPs", "[]HostIP|map:ip", "The node's IPs, one per family." },
	{ "podIP", "string", "The IP assigned to the pod." },
	{ "podIPs", "[]PodIP|map:ip", "The pod's IPs, one per family." },
	{ "startTime", "date-time", "When the node acknowledged the pod." },
	{ "initContainerStatuses", "[]ContainerStatus", "One status per init container." },
	{ "containerStatuses", "[]ContainerStatus", "One status per container: state, readiness, restarts, image." },
	{ "qosClass", "enum:BestEffort,Burstable,Guaranteed", "The quality of service class, from the resource "
							      "requirements." },
	{ "ephemeralContainerStatuses", "[]ContainerStatus", "One status per ephemeral container." },
	{ "resize", "string", "The state of a requested resize of the containers' resources." },
	{ "resourceClaimStatuses", "[]PodResourceClaimStatus|map:name;merge,retainKeys", "The claims made for the "
											   "pod's resourceClaims." },
	{ 0 }
};

static const OField pod_condition[] = {
	{ "!type", "string", "The condition: PodScheduled, Initialized, ContainersReady, Ready..." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastProbeTime", "date-time", "When the condition was last checked." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

static const OField ip_only[] = {
	{ "!ip", "string", "The address." },
	{ 0 }
};

static const OField pod_resource_claim_status[] = {
	{ "!name", "string", "The entry of the pod's resourceClaims." },
	{ "resourceClaimName", "string", "The ResourceClaim made for it." },
	{ 0 }
};

static const OField container_status[] = {
	{ "!name", "string", "The container's name." },
	{ "state", "ContainerState", "What the container is doing now." },
	{ "lastState", "ContainerState", "How its previous run ended." },
	{ "!ready", "boolean", "Whether its readiness probe passes." },
	{ "!restartCount", "integer", "How many times it was restarted." },
	{ "!image", "string", "The image it runs." },
	{ "!imageID", "string", "The image's ID (digest)." },
	{ "containerID", "string", "The runtime's ID, as <type>://<id>." },
	{ "started", "boolean", "Whether its startup probe passed." },
	{ "allocatedResources", "map:quantity", "The resources the node allocated to it." },
	{ "resources", "ResourceRequirements", "The requests and limits it runs with." },
	{ "volumeMounts", "[]VolumeMountStatus", "Its mounts as made." },
	{ "user", "ContainerUser", "The identity its first process runs with." },
	{ "allocatedResourcesStatus", "[]ResourceStatus", "The health of the devices allocated to it." },
	{ 0 }
};

static const OField container_state[] = {
	{ "waiting", "ContainerStateWaiting", "Not running yet (or again)." },
	{ "running", "ContainerStateRunning", "Running." },
	{ "terminated", "ContainerStateTerminated", "Exited." },
	{ 0 }
};

static const OField state_waiting[] = {
	{ "reason", "string", "Why it is waiting, such as ContainerCreating or CrashLoopBackOff." },
	{ "message", "string", "Details." },
	{ 0 }
};

static const OField state_running[] = {
	{ "startedAt", "date-time", "When it (last) started." },
	{ 0 }
};

static const OField state_terminated[] = {
	{ "!exitCode", "integer", "Its exit status." },
	{ "signal", "integer", "The signal that ended it, if any." },
	{ "reason", "string", "Why it exited, such as Completed, Error or OOMKilled." },
	{ "message", "string", "Details, such as the termination message." },
	{ "startedAt", "date-time", "When it started." },
	{ "finishedAt", "date-time", "When it exited." },
	{ "containerID", "string", "The runtime's ID of that run." },
	{ 0 }
};

static const OField volume_mount_status[] = {
	{ "!name", "string", "The volume." },
	{ "!mountPath", "string", "Where it is mounted." },
	{ "readOnly", "boolean", "Whether it is read-only." },
	{ "recursiveReadOnly", "string", "Whether submounts are read-only too." },
	{ 0 }
};

static const OField container_user[] = {
	{ "linux", "LinuxContainerUser", "The UID and GIDs on Linux." },
	{ 0 }
};

static const OField linux_container_user[] = {
	{ "!uid", "integer", "The user ID." },
	{ "!gid", "integer", "The primary group ID." },
	{ "supplementalGroups", "[]integer", "The supplementary group IDs." },
	{ 0 }
};

static const OField resource_status[] = {
	{ "!name", "string", "The resource: the name of a claim or an extended resource." },
	{ "resources", "[]ResourceHealth", "The health of each device." },
	{ 0 }
};

static const OField resource_health[] = {
	{ "!resourceID", "string", "The device." },
	{ "health", "string", "Healthy, Unhealthy or Unknown." },
	{ 0 }
};

static const OField pod_template_spec[] = {
	{ "metadata", "ObjectMeta", "Metadata of the pods made from the template, labels above all." },
	{ "spec", "PodSpec", "The specification of the pods made from the template." },
	{ 0 }
};

static const OField pod_template[] = {
	OA_TYPE_META,
	{ "template", "PodTemplateSpec", "The template." },
	{ 0 }
};

#define C(name, desc, fields) { OA_CORE name, desc, fields }

const OType api_openapi_core_types[] = {
	C("Pod", "A group of containers that run together on one node, sharing network and volumes.", pod),
	C("PodSpec", "The desired behavior of a pod.", pod_spec),
	C("Container", "One application container of a pod.", container),
	C("EphemeralContainer", "A container added to a running pod, for debugging.", ephemeral_container),
	C("ContainerPort", "A network port of a container.", container_port),
	C("EnvVar", "An environment variable of a container.", env_var),
	C("EnvVarSource", "Where an environment variable's value comes from.", env_var_source),
	C("ObjectFieldSelector", "Selects a field of an object.", object_field_selector),
	C("ResourceFieldSelector", "Selects a resource of a container.", resource_field_selector),
	C("ConfigMapKeySelector", "Selects a key of a ConfigMap.", key_selector),
	C("SecretKeySelector", "Selects a key of a Secret.", key_selector),
	C("EnvFromSource", "A source of several environment variables.", env_from_source),
	C("ConfigMapEnvSource", "A ConfigMap whose keys become environment variables.", optional_ref),
	C("SecretEnvSource", "A Secret whose keys become environment variables.", optional_ref),
	C("ResourceRequirements", "Compute resources a container requests and is limited to.", resource_requirements),
	C("ResourceClaim", "A reference to one of the pod's resource claims.", resource_claim),
	C("ContainerResizePolicy", "What a resize of one resource does to a container.", container_resize_policy),
	C("VolumeMount", "Where a volume is mounted in a container.", volume_mount),
	C("VolumeDevice", "A block volume exposed to a container as a device.", volume_device),
	C("Probe", "A health check run against a container.", probe),
	C("ExecAction", "A command run in the container.", exec_action),
	C("HTTPGetAction", "An HTTP GET request.", http_get_action),
	C("HTTPHeader", "One HTTP header.", http_header),
	C("TCPSocketAction", "A TCP connection attempt.", tcp_socket_action),
	C("GRPCAction", "A gRPC health check.", grpc_action),
	C("Lifecycle", "Actions run at points of a container's life.", lifecycle),
	C("LifecycleHandler", "One action of a lifecycle hook; exactly one field is set.", lifecycle_handler),
	C("SleepAction", "A pause.", sleep_action),
	C("SecurityContext", "Security settings of one container; they override the pod's.", security_context),
	C("PodSecurityContext", "Security settings for all the containers of a pod.", pod_security_context),
	C("Capabilities", "Linux capabilities to add and drop.", capabilities),
	C("SELinuxOptions", "An SELinux context.", selinux_options),
	C("SeccompProfile", "A seccomp profile.", seccomp_profile),
	C("AppArmorProfile", "An AppArmor profile.", apparmor_profile),
	C("WindowsSecurityContextOptions", "Security settings specific to Windows.", windows_options),
	C("Sysctl", "A kernel parameter to set.", sysctl),
	C("Affinity", "Scheduling constraints of a pod.", affinity),
	C("NodeAffinity", "Node affinity rules of a pod.", node_affinity),
	C("NodeSelector", "A query over nodes: any of its terms.", node_selector),
	C("NodeSelectorTerm", "A query over nodes whose requirements all hold.", node_selector_term),
	C("NodeSelectorRequirement", "One condition on a node label or field.", node_selector_requirement),
	C("PreferredSchedulingTerm", "A node selector term with a weight.", preferred_scheduling_term),
	C("PodAffinity", "Rules that bring a pod near other pods.", pod_affinity),
	C("PodAntiAffinity", "Rules that keep a pod away from other pods.", pod_anti_affinity),
	C("PodAffinityTerm", "A set of pods and the topology domain they define.", pod_affinity_term),
	C("WeightedPodAffinityTerm", "A pod affinity term with a weight.", weighted_pod_affinity_term),
	C("Toleration", "Lets a pod be scheduled onto (or stay on) nodes with a matching taint.", toleration),
	C("TopologySpreadConstraint", "How matching pods spread across domains.", topology_spread_constraint),
	C("HostAlias", "An entry of the pod's /etc/hosts.", host_alias),
	C("PodDNSConfig", "Resolver settings of a pod.", pod_dns_config),
	C("PodDNSConfigOption", "One resolver option.", pod_dns_config_option),
	C("PodReadinessGate", "A condition that counts towards the pod's readiness.", pod_readiness_gate),
	C("PodOS", "The operating system of a pod.", pod_os),
	C("PodSchedulingGate", "A gate that holds off the pod's scheduling.", name_only),
	C("PodResourceClaim", "A resource claim of a pod.", pod_resource_claim),
	C("LocalObjectReference", "A reference to an object in the same namespace.", local_object_reference),
	C("Volume", "A named volume of a pod; exactly one source field is set.", volume),
	C("EmptyDirVolumeSource", "An empty directory for the pod's lifetime.", empty_dir),
	C("HostPathVolumeSource", "A path of the node.", host_path),
	C("ConfigMapVolumeSource", "The keys of a ConfigMap as files.", config_map_volume),
	C("SecretVolumeSource", "The keys of a Secret as files.", secret_volume),
	C("KeyToPath", "Maps a key to a file path.", key_to_path),
	C("PersistentVolumeClaimVolumeSource", "A reference to a claim in the pod's namespace.", pvc_volume),
	C("ProjectedVolumeSource", "Several sources in one directory.", projected_volume),
	C("VolumeProjection", "One source of a projected volume; exactly one field is set.", volume_projection),
	C("SecretProjection", "Keys of a Secret in a projected volume.", key_projection),
	C("ConfigMapProjection", "Keys of a ConfigMap in a projected volume.", key_projection),
	C("DownwardAPIProjection", "Fields of the pod in a projected volume.", downward_api_projection),
	C("ServiceAccountTokenProjection", "A ServiceAccount token in a projected volume.", sa_token_projection),
	C("ClusterTrustBundleProjection", "ClusterTrustBundle certificates in a projected volume.",
	  cluster_trust_bundle_projection),
	C("DownwardAPIVolumeSource", "Fields of the pod as files.", downward_api_volume),
	C("DownwardAPIVolumeFile", "One file of the downward API.", downward_api_file),
	C("CSIVolumeSource", "A volume of a CSI driver.", csi_volume),
	C("EphemeralVolumeSource", "A claim made for the pod.", ephemeral_volume),
	C("PersistentVolumeClaimTemplate", "The claim an ephemeral volume makes.", pvc_template),
	C("NFSVolumeSource", "An NFS mount.", nfs_volume),
	C("ImageVolumeSource", "An OCI image as a volume.", image_volume),
	C("PodStatus", "The observed state of a pod.", pod_status),
	C("PodCondition", "A condition of a pod.", pod_condition),
	C("PodIP", "One IP address of a pod.", ip_only),
	C("HostIP", "One IP address of a pod's node.", ip_only),
	C("PodResourceClaimStatus", "The claim made for a pod's resource claim.", pod_resource_claim_status),
	C("ContainerStatus", "The observed state of a container.", container_status),
	C("ContainerState", "The state of a container; exactly one field is set.", container_state),
	C("ContainerStateWaiting", "A container that is not running.", state_waiting),
	C("ContainerStateRunning", "A running container.", state_running),
	C("ContainerStateTerminated", "A container that exited.", state_terminated),
	C("VolumeMountStatus", "The state of a volume mount.", volume_mount_status),
	C("ContainerUser", "The identity of a container's first process.", container_user),
	C("LinuxContainerUser", "A Linux identity.", linux_container_user),
	C("ResourceStatus", "The health of the devices of one resource.", resource_status),
	C("ResourceHealth", "The health of one device.", resource_health),
	C("PodTemplateSpec", "The template pods are created from.", pod_template_spec),
	C("PodTemplate", "A stored pod template.", pod_template),
	{ NULL, NULL, NULL }
};
