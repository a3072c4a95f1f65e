/* openapi-core-kinds.c - the schemas of core/v1 beyond the pod (services
 * and endpoints, configuration, namespaces and nodes, storage, events,
 * quotas and the other core kinds) for openapi.c; openapi-core.c holds the
 * pod's whole tree.  Field names, types, required markers and enums follow
 * the Kubernetes API; the descriptions are this project's own one-line
 * summaries.
 */
#include "openapi-internal.h"
#include <stddef.h>

#define PROTOCOL "enum:SCTP,TCP,UDP"
#define TAINT_EFFECT "enum:NoExecute,NoSchedule,PreferNoSchedule"
#define ACCESS_MODES "[]enum:ReadOnlyMany,ReadWriteMany,ReadWriteOnce,ReadWriteOncePod"

/* ---- services and endpoints ---- */

static const OField service[] = {
	OA_TYPE_META,
	{ "spec", "ServiceSpec", "How the service is exposed: its ports, selector, type and addresses." },
	{ "status", "ServiceStatus", "The most recently observed state, such as load balancer addresses; read-only." },
	{ 0 }
};

static const OField service_spec[] = {
	{ "ports", "[]ServicePort|map:port,protocol", "The ports the service exposes." },
	{ "selector", "map", "The labels of the pods traffic is sent to." },
	{ "clusterIP", "string", "The virtual IP of the service, allocated from the service range unless given; "
				 "None makes the service headless." },
	{ "clusterIPs", "[]string", "The service's IPs, one per family; the first equals clusterIP." },
	{ "type", "enum:ClusterIP,ExternalName,LoadBalancer,NodePort", "How the service is exposed; ClusterIP by "
								       "default." },
	{ "externalIPs", "[]string", "Extra node addresses that accept traffic for the service." },
	{ "sessionAffinity", "enum:ClientIP,None", "Whether a client keeps reaching the same pod; None by default." },
	{ "loadBalancerIP", "string", "An address asked of the load balancer (deprecated)." },
	{ "loadBalancerSourceRanges", "[]string", "Client ranges the load balancer admits." },
	{ "externalName", "string", "The DNS name an ExternalName service aliases." },
	{ "externalTrafficPolicy", "enum:Cluster,Local", "How external traffic is routed to pods." },
	{ "healthCheckNodePort", "integer", "The node port load balancers check with the Local policy." },
	{ "publishNotReadyAddresses", "boolean", "List pods in endpoints before they are ready." },
	{ "sessionAffinityConfig", "SessionAffinityConfig", "Settings of the session affinity." },
	{ "ipFamilies", "[]enum:IPv4,IPv6", "The address families of the service." },
	{ "ipFamilyPolicy", "enum:PreferDualStack,RequireDualStack,SingleStack", "How many families the service "
										 "gets." },
	{ "allocateLoadBalancerNodePorts", "boolean", "Whether a LoadBalancer service gets node ports; true by "
						      "default." },
	{ "loadBalancerClass", "string", "The load balancer implementation for the service." },
	{ "internalTrafficPolicy", "enum:Cluster,Local", "How in-cluster traffic is routed to pods." },
	{ "trafficDistribution", "string", "A preference for how traffic is spread, such as PreferClose." },
	{ 0 }
};

static const OField service_port[] = {
	{ "name", "string", "The port's name; required when there is more than one port." },
	{ "protocol", PROTOCOL, "The port's protocol; TCP by default." },
	{ "appProtocol", "string", "The application protocol, a hint for implementations." },
	{ "!port", "integer", "The port the service listens on." },
	{ "targetPort", "int-or-string", "The pod port (number or name) traffic goes to; the same as port by "
					 "default." },
	{ "nodePort", "integer", "The port opened on every node for NodePort and LoadBalancer services, from "
				 "30000-32767; allocated unless given." },
	{ 0 }
};

static const OField session_affinity_config[] = {
	{ "clientIP", "ClientIPConfig", "Settings of ClientIP affinity." },
	{ 0 }
};

static const OField client_ip_config[] = {
	{ "timeoutSeconds", "integer", "How long a client sticks to its pod; 10800 by default." },
	{ 0 }
};

static const OField service_status[] = {
	{ "loadBalancer", "LoadBalancerStatus", "The ingress points of the load balancer, if any." },
	{ "conditions", "[]Condition|map:type", "Conditions of the service." },
	{ 0 }
};

static const OField load_balancer_status[] = {
	{ "ingress", "[]LoadBalancerIngress", "The addresses traffic for the service enters by." },
	{ 0 }
};

static const OField load_balancer_ingress[] = {
	{ "ip", "string", "An IP address." },
	{ "hostname", "string", "A host name." },
	{ "ipMode", "string", "VIP or Proxy: how traffic reaches the nodes." },
	{ "ports", "[]PortStatus", "The state of each service port." },
	{ 0 }
};

static const OField port_status[] = {
	{ "!port", "integer", "The service port." },
	{ "!protocol", PROTOCOL, "Its protocol." },
	{ "error", "string", "Why the port failed, as a CamelCase reason." },
	{ 0 }
};

static const OField endpoints[] = {
	OA_TYPE_META,
	{ "subsets", "[]EndpointSubset", "The addresses and ports of the service's pods." },
	{ 0 }
};

static const OField endpoint_subset[] = {
	{ "addresses", "[]EndpointAddress", "Ready addresses." },
	{ "notReadyAddresses", "[]EndpointAddress", "Addresses that are not ready yet." },
	{ "ports", "[]EndpointPort", "The ports of every address." },
	{ 0 }
};

static const OField endpoint_address[] = {
	{ "!ip", "string", "The address." },
	{ "hostname", "string", "The address's host name." },
	{ "nodeName", "string", "The node hosting the address." },
	{ "targetRef", "ObjectReference", "The object (a pod) behind the address." },
	{ 0 }
};

static const OField endpoint_port[] = {
	{ "name", "string", "The name of the service port." },
	{ "!port", "integer", "The port number." },
	{ "protocol", PROTOCOL, "Its protocol." },
	{ "appProtocol", "string", "The application protocol." },
	{ 0 }
};

static const OField object_reference[] = {
	{ "kind", "string", "Kind of the object." },
	{ "namespace", "string", "Its namespace." },
	{ "name", "string", "Its name." },
	{ "uid", "string", "Its UID." },
	{ "apiVersion", "string", "Its API version." },
	{ "resourceVersion", "string", "The version it had when referred to." },
	{ "fieldPath", "string", "A part of the object, such as spec.containers{name}." },
	{ 0 }
};

/* ---- configuration ---- */

static const OField config_map[] = {
	OA_TYPE_META,
	{ "data", "map", "The configuration as UTF-8 strings by key." },
	{ "binaryData", "map:byte", "Binary values by key, base64-encoded; keys must not repeat those of data." },
	{ "immutable", "boolean", "When true, data cannot change (only the object can be deleted)." },
	{ 0 }
};

static const OField secret[] = {
	OA_TYPE_META,
	{ "data", "map:byte", "The secret values by key, base64-encoded." },
	{ "stringData", "map", "Values given as plain strings, merged into data on write; never read back." },
	{ "type", "string", "What the secret holds, e.g. Opaque, kubernetes.io/tls or "
			    "kubernetes.io/dockerconfigjson." },
	{ "immutable", "boolean", "When true, data cannot change." },
	{ 0 }
};

static const OField service_account[] = {
	OA_TYPE_META,
	{ "secrets", "[]ObjectReference", "Secrets pods of this account may use (legacy token secrets)." },
	{ "imagePullSecrets", "[]LocalObjectReference", "Registry credentials added to the account's pods." },
	{ "automountServiceAccountToken", "boolean", "Whether pods mount a token by default." },
	{ 0 }
};

/* ---- namespaces and nodes ---- */

static const OField namespace_f[] = {
	OA_TYPE_META,
	{ "spec", "NamespaceSpec", "The finalizers that must finish before the namespace is removed." },
	{ "status", "NamespaceStatus", "Whether the namespace is Active or Terminating; read-only." },
	{ 0 }
};

static const OField namespace_spec[] = {
	{ "finalizers", "[]string", "Must be empty before the namespace is removed from storage." },
	{ 0 }
};

static const OField namespace_status[] = {
	{ "phase", "enum:Active,Terminating", "Whether the namespace is in use or being removed." },
	{ "conditions", "[]NamespaceCondition", "Conditions of the namespace's deletion." },
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

static const OField node[] = {
	OA_TYPE_META,
	{ "spec", "NodeSpec", "How the node is configured: pod address range, taints, schedulability." },
	{ "status", "NodeStatus", "The most recently observed state, reported by the node agent; read-only." },
	{ 0 }
};

static const OField node_spec[] = {
	{ "podCIDR", "string", "The pod IP range assigned to the node." },
	{ "podCIDRs", "[]string|set", "The pod IP ranges, one per family." },
	{ "providerID", "string", "The node's ID at its infrastructure provider." },
	{ "unschedulable", "boolean", "When true, no new pods are scheduled onto the node." },
	{ "taints", "[]Taint", "Taints that repel pods that do not tolerate them." },
	{ "configSource", "object", "Dynamic node agent configuration (no longer used)." },
	{ "externalID", "string", "Deprecated and unused." },
	{ 0 }
};

static const OField taint[] = {
	{ "!key", "string", "The taint key." },
	{ "value", "string", "The taint value." },
	{ "!effect", TAINT_EFFECT, "What happens to pods that do not tolerate the taint." },
	{ "timeAdded", "date-time", "When a NoExecute taint was added." },
	{ 0 }
};

static const OField node_status[] = {
	{ "capacity", "map:quantity", "The node's total resources." },
	{ "allocatable", "map:quantity", "The resources available to pods." },
	{ "phase", "enum:Pending,Running,Terminated", "Deprecated and unused." },
	{ "conditions", "[]NodeCondition|map:type", "Ready, MemoryPressure, DiskPressure, PIDPressure and more." },
	{ "addresses", "[]NodeAddress|map:type", "The node's addresses (InternalIP, Hostname, ...)." },
	{ "daemonEndpoints", "NodeDaemonEndpoints", "The ports of the node's daemons." },
	{ "nodeInfo", "NodeSystemInfo", "Versions of the node's kernel, OS, runtime and agent." },
	{ "images", "[]ContainerImage", "Images present on the node." },
	{ "volumesInUse", "[]string", "Volumes attached and mounted on the node." },
	{ "volumesAttached", "[]AttachedVolume", "Volumes attached to the node." },
	{ "config", "object", "The state of dynamic configuration (no longer used)." },
	{ "runtimeHandlers", "[]NodeRuntimeHandler", "The runtime handlers of the node." },
	{ "features", "NodeFeatures", "Features the node implements." },
	{ 0 }
};

static const OField node_condition[] = {
	{ "!type", "string", "The condition: Ready, MemoryPressure, DiskPressure, PIDPressure..." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastHeartbeatTime", "date-time", "When the condition was last reported." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

static const OField node_address[] = {
	{ "!type", "string", "Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS." },
	{ "!address", "string", "The address." },
	{ 0 }
};

static const OField node_daemon_endpoints[] = {
	{ "kubeletEndpoint", "DaemonEndpoint", "The node agent's endpoint." },
	{ 0 }
};

static const OField daemon_endpoint[] = {
	{ "!Port", "integer", "The port number." },
	{ 0 }
};

static const OField node_system_info[] = {
	{ "!machineID", "string", "The machine ID of the node (/etc/machine-id)." },
	{ "!systemUUID", "string", "The system UUID reported by the firmware." },
	{ "!bootID", "string", "The ID of the current boot." },
	{ "!kernelVersion", "string", "The kernel release (uname -r)." },
	{ "!osImage", "string", "The operating system's name (/etc/os-release)." },
	{ "!containerRuntimeVersion", "string", "The container runtime and its version." },
	{ "!kubeletVersion", "string", "The version of the node agent." },
	{ "!kubeProxyVersion", "string", "The version of the service proxy (deprecated)." },
	{ "!operatingSystem", "string", "The operating system, such as linux." },
	{ "!architecture", "string", "The CPU architecture, such as amd64." },
	{ 0 }
};

static const OField container_image[] = {
	{ "names", "[]string", "The image's names and digests." },
	{ "sizeBytes", "integer", "Its size." },
	{ 0 }
};

static const OField attached_volume[] = {
	{ "!name", "string", "The volume." },
	{ "!devicePath", "string", "Where its device is." },
	{ 0 }
};

static const OField node_runtime_handler[] = {
	{ "name", "string", "The handler's name; empty for the default one." },
	{ "features", "NodeRuntimeHandlerFeatures", "What it supports." },
	{ 0 }
};

static const OField node_runtime_handler_features[] = {
	{ "recursiveReadOnlyMounts", "boolean", "Recursive read-only mounts." },
	{ "userNamespaces", "boolean", "User namespaces for pods." },
	{ 0 }
};

static const OField node_features[] = {
	{ "supplementalGroupsPolicy", "boolean", "The supplementalGroupsPolicy of pods." },
	{ 0 }
};

/* ---- storage ---- */

static const OField pvc[] = {
	OA_TYPE_META,
	{ "spec", "PersistentVolumeClaimSpec", "The storage wanted." },
	{ "status", "PersistentVolumeClaimStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField pvc_spec[] = {
	{ "accessModes", ACCESS_MODES, "How the volume may be mounted." },
	{ "selector", "LabelSelector", "The labels of the volumes that may be bound." },
	{ "resources", "VolumeResourceRequirements", "The size wanted (requests.storage)." },
	{ "volumeName", "string", "The volume the claim binds to." },
	{ "storageClassName", "string", "The class of the volume; the default class when unset." },
	{ "volumeMode", "enum:Block,Filesystem", "Whether the volume is a filesystem or a raw block device." },
	{ "dataSource", "TypedLocalObjectReference", "A snapshot or claim to fill the new volume from." },
	{ "dataSourceRef", "TypedObjectReference", "Like dataSource, for any object, possibly in another "
						   "namespace." },
	{ "volumeAttributesClassName", "string", "The VolumeAttributesClass of the volume." },
	{ 0 }
};

static const OField volume_resource_requirements[] = {
	{ "limits", "map:quantity", "The most storage the volume may have." },
	{ "requests", "map:quantity", "The least storage the volume must have." },
	{ 0 }
};

static const OField typed_local_object_reference[] = {
	{ "apiGroup", "string", "The group of the object; the core group when empty." },
	{ "!kind", "string", "Its kind." },
	{ "!name", "string", "Its name." },
	{ 0 }
};

static const OField typed_object_reference[] = {
	{ "apiGroup", "string", "The group of the object; the core group when empty." },
	{ "!kind", "string", "Its kind." },
	{ "!name", "string", "Its name." },
	{ "namespace", "string", "Its namespace; the claim's by default." },
	{ 0 }
};

static const OField pvc_status[] = {
	{ "phase", "enum:Bound,Lost,Pending", "Whether the claim is bound." },
	{ "accessModes", ACCESS_MODES, "The access modes of the bound volume." },
	{ "capacity", "map:quantity", "The size of the bound volume." },
	{ "conditions", "[]PersistentVolumeClaimCondition", "Conditions such as Resizing." },
	{ "allocatedResources", "map:quantity", "The storage allocated during a resize." },
	{ "allocatedResourceStatuses", "map", "The state of a resize per resource." },
	{ "currentVolumeAttributesClassName", "string", "The VolumeAttributesClass the volume has." },
	{ "modifyVolumeStatus", "object", "The state of a change of VolumeAttributesClass." },
	{ 0 }
};

static const OField pvc_condition[] = {
	{ "!type", "string", "The condition." },
	{ "!status", "string", "True, False or Unknown." },
	{ "lastProbeTime", "date-time", "When it was last checked." },
	{ "lastTransitionTime", "date-time", "When the status last changed." },
	{ "reason", "string", "A CamelCase reason for the last change." },
	{ "message", "string", "A human readable note on the last change." },
	{ 0 }
};

static const OField pv[] = {
	OA_TYPE_META,
	{ "spec", "PersistentVolumeSpec", "The volume: its size, source and access." },
	{ "status", "PersistentVolumeStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField pv_spec[] = {
	{ "capacity", "map:quantity", "The volume's size (storage)." },
	{ "hostPath", "HostPathVolumeSource", "A directory of one node (single-node clusters)." },
	{ "local", "LocalVolumeSource", "A disk or directory of a node, with nodeAffinity naming it." },
	{ "nfs", "NFSVolumeSource", "An NFS export." },
	{ "csi", "CSIPersistentVolumeSource", "A volume of a CSI driver." },
	{ "iscsi", "object", "An iSCSI disk." },
	{ "fc", "object", "A Fibre Channel disk." },
	{ "rbd", "object", "A Ceph RBD image." },
	{ "cephfs", "object", "A CephFS mount." },
	{ "glusterfs", "object", "A Glusterfs mount (no longer supported)." },
	{ "flexVolume", "object", "A volume of a FlexVolume driver." },
	{ "awsElasticBlockStore", "object", "An AWS EBS disk." },
	{ "gcePersistentDisk", "object", "A GCE persistent disk." },
	{ "azureDisk", "object", "An Azure data disk." },
	{ "azureFile", "object", "An Azure file share." },
	{ "cinder", "object", "An OpenStack Cinder volume." },
	{ "vsphereVolume", "object", "A vSphere volume." },
	{ "flocker", "object", "A Flocker dataset." },
	{ "quobyte", "object", "A Quobyte volume." },
	{ "photonPersistentDisk", "object", "A Photon disk." },
	{ "portworxVolume", "object", "A Portworx volume." },
	{ "scaleIO", "object", "A ScaleIO volume." },
	{ "storageos", "object", "A StorageOS volume." },
	{ "accessModes", ACCESS_MODES, "How the volume may be mounted." },
	{ "claimRef", "ObjectReference", "The claim bound to the volume." },
	{ "persistentVolumeReclaimPolicy", "enum:Delete,Recycle,Retain", "What happens to the volume when its claim "
									 "is deleted." },
	{ "storageClassName", "string", "The class the volume belongs to." },
	{ "mountOptions", "[]string", "Mount options used for the volume." },
	{ "volumeMode", "enum:Block,Filesystem", "Whether the volume is a filesystem or a raw block device." },
	{ "nodeAffinity", "VolumeNodeAffinity", "The nodes the volume can be used from." },
	{ "volumeAttributesClassName", "string", "The VolumeAttributesClass of the volume." },
	{ 0 }
};

static const OField local_volume[] = {
	{ "!path", "string", "The path on the node." },
	{ "fsType", "string", "The filesystem type of a block device." },
	{ 0 }
};

static const OField csi_pv[] = {
	{ "!driver", "string", "The CSI driver's name." },
	{ "!volumeHandle", "string", "The driver's ID of the volume." },
	{ "readOnly", "boolean", "Mount read-only." },
	{ "fsType", "string", "The filesystem type." },
	{ "volumeAttributes", "map", "Driver-specific properties." },
	{ "controllerPublishSecretRef", "SecretReference", "A Secret for the controller's publish calls." },
	{ "nodeStageSecretRef", "SecretReference", "A Secret for the node's stage calls." },
	{ "nodePublishSecretRef", "SecretReference", "A Secret for the node's publish calls." },
	{ "controllerExpandSecretRef", "SecretReference", "A Secret for the controller's expand calls." },
	{ "nodeExpandSecretRef", "SecretReference", "A Secret for the node's expand calls." },
	{ 0 }
};

static const OField secret_reference[] = {
	{ "name", "string", "The Secret's name." },
	{ "namespace", "string", "Its namespace." },
	{ 0 }
};

static const OField volume_node_affinity[] = {
	{ "required", "NodeSelector", "The nodes that can use the volume." },
	{ 0 }
};

static const OField pv_status[] = {
	{ "phase", "enum:Available,Bound,Failed,Pending,Released", "Where the volume is in its lifecycle." },
	{ "message", "string", "A human readable note on the state." },
	{ "reason", "string", "A CamelCase reason for a failure." },
	{ "lastPhaseTransitionTime", "date-time", "When the phase last changed." },
	{ 0 }
};

/* ---- events, controllers, policies ---- */

static const OField event[] = {
	{ "apiVersion", "string", "The versioned schema of this object." },
	{ "kind", "string", "The REST resource this object represents." },
	{ "!metadata", "ObjectMeta", "Standard object metadata." },
	{ "!involvedObject", "ObjectReference", "The object the event is about." },
	{ "reason", "string", "A short CamelCase reason, such as Scheduled or BackOff." },
	{ "message", "string", "A human readable description." },
	{ "source", "EventSource", "The component that reported the event." },
	{ "firstTimestamp", "date-time", "When the event was first recorded." },
	{ "lastTimestamp", "date-time", "When it was recorded most recently." },
	{ "count", "integer", "How many times it happened." },
	{ "type", "string", "Normal or Warning." },
	{ "eventTime", "micro-time", "When the event happened, to the microsecond." },
	{ "series", "EventSeries", "Data on a series of repeats." },
	{ "action", "string", "What was done, or failed." },
	{ "related", "ObjectReference", "A second object involved." },
	{ "reportingComponent", "string", "The controller that emitted the event." },
	{ "reportingInstance", "string", "The instance of that controller." },
	{ 0 }
};

static const OField event_source[] = {
	{ "component", "string", "The component." },
	{ "host", "string", "The node it runs on." },
	{ 0 }
};

static const OField event_series[] = {
	{ "count", "integer", "Repeats in the series." },
	{ "lastObservedTime", "micro-time", "When the last repeat happened." },
	{ 0 }
};

static const OField replication_controller[] = {
	OA_TYPE_META,
	{ "spec", "ReplicationControllerSpec", "How many pods of which template." },
	{ "status", "ReplicationControllerStatus", "The most recently observed state; read-only." },
	{ 0 }
};

static const OField rc_spec[] = {
	{ "replicas", "integer", "The number of pods wanted; 1 by default." },
	{ "minReadySeconds", "integer", "Seconds a new pod must be ready to count as available." },
	{ "selector", "map", "The labels of the pods managed; the template's by default." },
	{ "template", "PodTemplateSpec", "The pods to create." },
	{ 0 }
};

static const OField rc_status[] = {
	{ "!replicas", "integer", "Pods that exist." },
	{ "fullyLabeledReplicas", "integer", "Pods with every label of the template." },
	{ "readyReplicas", "integer", "Pods that are ready." },
	{ "availableReplicas", "integer", "Pods available for minReadySeconds." },
	{ "observedGeneration", "integer", "The generation the controller last acted on." },
	{ "conditions", "[]ReplicationControllerCondition", "Conditions such as ReplicaFailure." },
	{ 0 }
};

static const OField resource_quota[] = {
	OA_TYPE_META,
	{ "spec", "ResourceQuotaSpec", "The limits of the namespace." },
	{ "status", "ResourceQuotaStatus", "What is used of them; read-only." },
	{ 0 }
};

static const OField resource_quota_spec[] = {
	{ "hard", "map:quantity", "The most of each resource the namespace may use." },
	{ "scopes", "[]string", "Which objects the quota counts, such as Terminating or BestEffort." },
	{ "scopeSelector", "ScopeSelector", "Like scopes, as expressions." },
	{ 0 }
};

static const OField scope_selector[] = {
	{ "matchExpressions", "[]ScopedResourceSelectorRequirement", "Requirements that must all hold." },
	{ 0 }
};

static const OField scoped_requirement[] = {
	{ "!scopeName", "string", "The scope." },
	{ "!operator", "enum:DoesNotExist,Exists,In,NotIn", "How the scope relates to the values." },
	{ "values", "[]string", "The values, for In and NotIn." },
	{ 0 }
};

static const OField resource_quota_status[] = {
	{ "hard", "map:quantity", "The limits enforced." },
	{ "used", "map:quantity", "What the namespace uses." },
	{ 0 }
};

static const OField limit_range[] = {
	OA_TYPE_META,
	{ "spec", "LimitRangeSpec", "The limits." },
	{ 0 }
};

static const OField limit_range_spec[] = {
	{ "!limits", "[]LimitRangeItem", "One entry per kind of object limited." },
	{ 0 }
};

static const OField limit_range_item[] = {
	{ "!type", "string", "Pod, Container or PersistentVolumeClaim." },
	{ "max", "map:quantity", "The most of each resource." },
	{ "min", "map:quantity", "The least of each resource." },
	{ "default", "map:quantity", "The limits given to containers that set none." },
	{ "defaultRequest", "map:quantity", "The requests given to containers that set none." },
	{ "maxLimitRequestRatio", "map:quantity", "The largest limit-to-request ratio allowed." },
	{ 0 }
};

#define C(name, desc, fields) { OA_CORE name, desc, fields }

const OType api_openapi_core_kinds_types[] = {
	C("Service", "A stable name and address for a set of pods, with load balancing across them.", service),
	C("ServiceSpec", "The desired state of a service.", service_spec),
	C("ServicePort", "One port of a service.", service_port),
	C("SessionAffinityConfig", "Settings of session affinity.", session_affinity_config),
	C("ClientIPConfig", "Settings of ClientIP session affinity.", client_ip_config),
	C("ServiceStatus", "The observed state of a service.", service_status),
	C("LoadBalancerStatus", "The state of a load balancer.", load_balancer_status),
	C("LoadBalancerIngress", "One ingress point of a load balancer.", load_balancer_ingress),
	C("PortStatus", "The state of one service port.", port_status),
	C("Endpoints", "The addresses of a service's pods (the legacy API; see EndpointSlice).", endpoints),
	C("EndpointSubset", "Addresses that share a set of ports.", endpoint_subset),
	C("EndpointAddress", "One endpoint address.", endpoint_address),
	C("EndpointPort", "One endpoint port.", endpoint_port),
	C("ObjectReference", "A reference to any object.", object_reference),
	C("ConfigMap", "Non-confidential configuration as key/value pairs.", config_map),
	C("Secret", "Confidential data as key/value pairs, such as passwords, tokens and keys.", secret),
	C("ServiceAccount", "An identity for processes that run in pods.", service_account),
	C("Namespace", "A scope for names; most objects live in one.", namespace_f),
	C("NamespaceSpec", "The desired state of a namespace.", namespace_spec),
	C("NamespaceStatus", "The observed state of a namespace.", namespace_status),
	C("NamespaceCondition", "A condition of a namespace.", typed_condition),
	C("Node", "A machine that runs pods; it registers itself through its node agent.", node),
	C("NodeSpec", "The configuration of a node.", node_spec),
	C("Taint", "A mark on a node that repels pods without a matching toleration.", taint),
	C("NodeStatus", "The observed state of a node.", node_status),
	C("NodeCondition", "A condition of a node.", node_condition),
	C("NodeAddress", "One address of a node.", node_address),
	C("NodeDaemonEndpoints", "The ports of a node's daemons.", node_daemon_endpoints),
	C("DaemonEndpoint", "The port of a daemon.", daemon_endpoint),
	C("NodeSystemInfo", "Identifiers and versions of a node.", node_system_info),
	C("ContainerImage", "An image on a node.", container_image),
	C("AttachedVolume", "A volume attached to a node.", attached_volume),
	C("NodeRuntimeHandler", "A runtime handler of a node.", node_runtime_handler),
	C("NodeRuntimeHandlerFeatures", "What a runtime handler supports.", node_runtime_handler_features),
	C("NodeFeatures", "Features a node implements.", node_features),
	C("PersistentVolumeClaim", "A request for storage by a user.", pvc),
	C("PersistentVolumeClaimSpec", "The storage a claim asks for.", pvc_spec),
	C("VolumeResourceRequirements", "The size of a volume.", volume_resource_requirements),
	C("TypedLocalObjectReference", "A reference to an object of any kind in the same namespace.",
	  typed_local_object_reference),
	C("TypedObjectReference", "A reference to an object of any kind.", typed_object_reference),
	C("PersistentVolumeClaimStatus", "The observed state of a claim.", pvc_status),
	C("PersistentVolumeClaimCondition", "A condition of a claim.", pvc_condition),
	C("PersistentVolume", "A piece of storage in the cluster.", pv),
	C("PersistentVolumeSpec", "The description of a volume.", pv_spec),
	C("LocalVolumeSource", "A local disk or directory of a node.", local_volume),
	C("CSIPersistentVolumeSource", "A persistent volume of a CSI driver.", csi_pv),
	C("SecretReference", "A reference to a Secret in any namespace.", secret_reference),
	C("VolumeNodeAffinity", "The nodes a volume can be used from.", volume_node_affinity),
	C("PersistentVolumeStatus", "The observed state of a volume.", pv_status),
	C("Event", "A report of something that happened to an object.", event),
	C("EventSource", "Who reported an event.", event_source),
	C("EventSeries", "A series of repeats of an event.", event_series),
	C("ReplicationController", "Keeps a number of pod replicas running (the older form of ReplicaSet).",
	  replication_controller),
	C("ReplicationControllerSpec", "The desired state of a replication controller.", rc_spec),
	C("ReplicationControllerStatus", "The observed state of a replication controller.", rc_status),
	C("ReplicationControllerCondition", "A condition of a replication controller.", typed_condition),
	C("ResourceQuota", "Limits on what a namespace may use.", resource_quota),
	C("ResourceQuotaSpec", "The limits of a quota.", resource_quota_spec),
	C("ScopeSelector", "Selects the objects a quota counts.", scope_selector),
	C("ScopedResourceSelectorRequirement", "One condition on a quota scope.", scoped_requirement),
	C("ResourceQuotaStatus", "What a namespace uses of its quota.", resource_quota_status),
	C("LimitRange", "Per-object resource limits and defaults of a namespace.", limit_range),
	C("LimitRangeSpec", "The limits of a limit range.", limit_range_spec),
	C("LimitRangeItem", "The limits of one kind of object.", limit_range_item),
	{ NULL, NULL, NULL }
};
