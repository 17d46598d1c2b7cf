"""Which Pod fields nodelab supports, and the refusal of the others (the rule of issue #18).

Every field of upstream's core/v1 `Pod`, `PodSpec`, `Container`, `EphemeralContainer`,
`SecurityContext`, `PodSecurityContext`, `Probe`, `Lifecycle` and `Volume` (read from
upstream's schema, `kube/schema.py`) has a row in `TABLE`: **supported** (it behaves as on an
upstream node, and the row names the test that shows it) or **refused** (the API server answers
422 `spec...: Forbidden: not supported by nodelab`, for pods and pod templates alike, so a
learner never sees a field accepted and silently ignored). A few rows refuse only some values
(`hostUsers: false`, `procMount: Unmasked`, `os.name: windows`).

`refusals(spec, path)` is the check (pure): the paths of a pod spec that use a refused field.
`docs/pod-fields.md` is generated from this table and the schema by
`scripts/pod_fields_doc.py`; a unit test fails when a schema field has no row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

SUPPORTED, REFUSED = "supported", "refused"
TYPES = ("Pod", "PodSpec", "Container", "EphemeralContainer", "SecurityContext",
         "PodSecurityContext", "Probe", "Lifecycle", "Volume")
MESSAGE = "not supported by nodelab"


@dataclass(frozen=True)
class Row:
    status: str
    evidence: str  # the test that shows it (refused rows: the 422 test)
    note: str = ""
    allowed: tuple[Any, ...] = ()  # refused rows: values that are accepted (the defaults)


PF = "tests/kubelet/test_pod_fields.py::"
WL = "tests/lab/test_workloads.py::"
LP = "tests/kubelet/test_lab_pods.py::"
EFFECTS = "tests/kubelet/test_pod_field_effects.py::"
SCH = "tests/controlplane/scheduler/test_plan.py::"
REFUSAL = "tests/controlplane/test_pod_field_refusals.py::test_a_refused_field_gets_a_422"
ENV = PF + "test_environment_sources_expansion_and_service_variables"
SEC = PF + "test_users_groups_and_process_security"
HOSTNS = PF + "test_host_namespaces"
PROBES = WL + "test_liveness_failures_restart_with_growing_backoff"
HOOKS = WL + "test_post_start_hook_and_active_deadline"
INIT = WL + "test_init_containers_sidecars_and_a_failed_init_under_never"
API = "tests/controlplane/test_kubectl.py"
MESSAGES = PF + "test_termination_messages_from_the_file_and_from_the_logs"
DEBUG = WL + "test_kubectl_debug_runs_an_ephemeral_container_beside_its_target"


def _s(evidence: str, note: str = "") -> Row:
    return Row(SUPPORTED, evidence, note)


def _r(note: str = "", allowed: tuple[Any, ...] = ()) -> Row:
    return Row(REFUSED, REFUSAL, note, allowed)


_CONTAINER: dict[str, Row] = {
    "args": _s(ENV, "`$(VAR)` expanded against the container's environment"),
    "command": _s(ENV, "`$(VAR)` expanded against the container's environment"),
    "env": _s(ENV), "envFrom": _s(ENV),
    "image": _s(WL + "test_scale_set_image_rollout_status"),
    "imagePullPolicy": _s("tests/kubelet/pods/test_lifecycle.py::test_pull_decisions"),
    "lifecycle": _s(HOOKS), "livenessProbe": _s(PROBES),
    "name": _s(API), "ports": _s(WL + "test_scale_set_image_rollout_status"),
    "readinessProbe": _s(LP + "test_a_grpc_readiness_probe_asks_a_real_health_server"),
    "resizePolicy": _r("in-place resize is not served"),
    "resources": _s(WL + "test_memory_hog_is_oom_killed_and_cpu_hog_throttled",
                    "cpu and memory: cgroup limits; `limits.ephemeral-storage`: local storage "
                    "eviction (`test_pod_field_effects.py::test_ephemeral_storage_limits`)"),
    "restartPolicy": _s(INIT, "`Always`: a sidecar init container"),
    "restartPolicyRules": _r(),
    "securityContext": _s(SEC),
    "startupProbe": _s("tests/kubelet/pods/test_actions.py"),
    "stdin": _s(PF + "test_kubectl_run_rm_i_ends_with_stdin_and_returns_the_exit_code"),
    "stdinOnce": _s(PF + "test_kubectl_run_rm_i_ends_with_stdin_and_returns_the_exit_code"),
    "terminationMessagePath": _s(MESSAGES),
    "terminationMessagePolicy": _s(MESSAGES),
    "tty": _s("tests/kubelet/test_server.py"),
    "volumeDevices": _r("no block volumes"),
    "volumeMounts": _s(WL + "test_config_map_updates_reach_the_container"),
    "workingDir": _s("tests/runtime/test_spec.py"),
}

TABLE: dict[str, Row] = {
    **{f"Pod.{name}": _s(API) for name in ("apiVersion", "kind", "metadata", "spec", "status")},
    "PodSpec.activeDeadlineSeconds": _s(HOOKS),
    "PodSpec.affinity": _s("tests/controlplane/scheduler/test_interpod_affinity.py",
                           "node affinity and pod (anti-)affinity, required and preferred, "
                           "as upstream's NodeAffinity and InterPodAffinity plugins"),
    "PodSpec.automountServiceAccountToken": _s(LP + "test_a_projected_token_is_bound_to_its_pod"
                                               "_and_accepted"),
    "PodSpec.containers": _s(ENV),
    "PodSpec.dnsConfig": _s("tests/kubelet/pods/test_dns.py"),
    "PodSpec.dnsPolicy": _s("tests/kubelet/pods/test_dns.py"),
    "PodSpec.enableServiceLinks": _s(PF + "test_a_missing_source_holds_the_container_until_it"
                                     "_appears"),
    "PodSpec.ephemeralContainers": _s(DEBUG),
    "PodSpec.evictionResponders": _r(),
    "PodSpec.hostAliases": _s(EFFECTS + "test_host_aliases_and_the_managed_hosts_file",
                              "the kubelet's managed /etc/hosts, upstream's format"),
    "PodSpec.hostIPC": _s(HOSTNS), "PodSpec.hostNetwork": _s(HOSTNS),
    "PodSpec.hostPID": _s(HOSTNS),
    "PodSpec.hostUsers": _r("no user namespaces: only `true`", (True,)),
    "PodSpec.hostname": _s(ENV, "the pod's hostname and `HOSTNAME`"),
    "PodSpec.hostnameOverride": _r(),
    "PodSpec.imagePullSecrets": _s(EFFECTS + "test_image_pull_secrets_reach_a_registry_that_"
                                   "wants_them", "dockerconfigjson/dockercfg secrets matched as "
                                   "upstream's keyring, passed as CRI AuthConfig; the service "
                                   "account's are copied in"),
    "PodSpec.initContainers": _s(INIT),
    "PodSpec.nodeName": _s(SCH + "test_unschedulable_node_and_node_name"),
    "PodSpec.nodeSelector": _s(SCH + "test_node_selector_and_required_affinity"),
    "PodSpec.os": _r("only `name: linux`", ({"name": "linux"},)),
    "PodSpec.overhead": _r("no RuntimeClass"),
    "PodSpec.preemptionPolicy": _s(EFFECTS + "test_a_higher_priority_pod_preempts_a_lower_"
                                   "one", "set from the PriorityClass; the scheduler preempts "
                                   "lower-priority pods unless it is `Never`"),
    "PodSpec.priority": _s("tests/controlplane/test_priority_classes.py::test_priority_"
                           "classes_through_kubectl", "from the PriorityClass; the scheduling "
                           "queue's order and the kubelet's eviction ranking"),
    "PodSpec.priorityClassName": _s("tests/controlplane/test_priority_classes.py::test_"
                                    "priority_classes_through_kubectl",
                                    "the Priority admission plugin and the system classes"),
    "PodSpec.readinessGates": _s(EFFECTS + "test_readiness_gates_hold_ready_until_their_"
                                 "conditions_are_true"),
    "PodSpec.resourceClaims": _r("no dynamic resource allocation"),
    "PodSpec.resources": _r("no pod-level resources"),
    "PodSpec.restartPolicy": _s("tests/kubelet/pods/test_actions.py::test_an_exited_container_"
                                "restarts_per_the_restart_policy"),
    "PodSpec.runtimeClassName": _r("no RuntimeClass"),
    "PodSpec.schedulerName": _s(SCH + "test_the_emptier_node_wins",
                                "pods for another scheduler stay Pending, as upstream"),
    "PodSpec.schedulingGates": _r(),
    "PodSpec.schedulingGroup": _r(),
    "PodSpec.securityContext": _s(SEC),
    "PodSpec.serviceAccount": _s(LP + "test_a_projected_token_is_bound_to_its_pod_and_accepted"),
    "PodSpec.serviceAccountName": _s(LP + "test_a_projected_token_is_bound_to_its_pod_and_"
                                     "accepted"),
    "PodSpec.setHostnameAsFQDN": _r(),
    "PodSpec.shareProcessNamespace": _s("tests/runtime/test_pod_features.py"),
    "PodSpec.subdomain": _s("tests/lab/test_workload_controllers.py::test_indexed_job_pods_get_"
                            "their_index_and_hostname", "DNS names through the cluster DNS; "
                            "the FQDN line in the pod's /etc/hosts"),
    "PodSpec.terminationGracePeriodSeconds": _s(WL + "test_pre_stop_runs_before_term_and_never_"
                                                "ends_in_a_phase"),
    "PodSpec.tolerations": _s(SCH + "test_tolerations_exists_equal_and_effects"),
    "PodSpec.topologySpreadConstraints": _s(
        "tests/controlplane/scheduler/test_topology_spread.py", "DoNotSchedule filters, "
        "ScheduleAnyway scores, upstream's system defaults for pods of Services and workloads"),
    "PodSpec.volumes": _s(WL + "test_config_map_updates_reach_the_container"),
    **{f"Container.{k}": v for k, v in _CONTAINER.items()},
    **{f"EphemeralContainer.{k}": _s(DEBUG) for k in (
        "args", "command", "env", "envFrom", "image", "imagePullPolicy", "name",
        "securityContext", "stdin", "stdinOnce", "targetContainerName", "tty", "volumeMounts",
        "workingDir")},
    **{f"EphemeralContainer.{k}": _r("not for ephemeral containers (upstream forbids it too)")
       for k in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe", "ports",
                 "resources", "restartPolicy")},
    **{f"EphemeralContainer.{k}": _CONTAINER[k] for k in ("resizePolicy", "restartPolicyRules",
                                                         "volumeDevices")},
    **{f"EphemeralContainer.{k}": _s(MESSAGES) for k in ("terminationMessagePath",
                                                        "terminationMessagePolicy")},
    **{f"SecurityContext.{k}": _s(SEC) for k in (
        "allowPrivilegeEscalation", "capabilities", "privileged", "readOnlyRootFilesystem",
        "runAsGroup", "runAsUser", "seccompProfile")},
    "SecurityContext.runAsNonRoot": _s(PF + "test_run_as_non_root_refuses_a_root_image"),
    "SecurityContext.appArmorProfile": _r("no AppArmor on the node: only `Unconfined`",
                                          ({"type": "Unconfined"},)),
    "SecurityContext.procMount": _r("only `Default` (`Unmasked` needs user namespaces)",
                                    ("Default",)),
    "SecurityContext.seLinuxOptions": _r("no SELinux on the node"),
    "SecurityContext.windowsOptions": _r("Linux nodes only"),
    **{f"PodSecurityContext.{k}": _s(SEC) for k in (
        "fsGroup", "runAsGroup", "runAsUser", "supplementalGroups", "sysctls")},
    "PodSecurityContext.fsGroupChangePolicy": _s("tests/kubelet/pods/test_fs_group.py"),
    "PodSecurityContext.runAsNonRoot": _s(PF + "test_run_as_non_root_refuses_a_root_image"),
    "PodSecurityContext.seccompProfile": _s(PF + "test_a_localhost_seccomp_profile_from_the_"
                                            "kubelets_directory"),
    "PodSecurityContext.supplementalGroupsPolicy": _s("tests/runtime/test_spec.py::test_strict_"
                                                      "supplemental_groups_leave_out_the_"
                                                      "images_groups"),
    "PodSecurityContext.appArmorProfile": _r("no AppArmor on the node: only `Unconfined`",
                                             ({"type": "Unconfined"},)),
    "PodSecurityContext.seLinuxChangePolicy": _r("no SELinux on the node"),
    "PodSecurityContext.seLinuxOptions": _r("no SELinux on the node"),
    "PodSecurityContext.windowsOptions": _r("Linux nodes only"),
    **{f"Probe.{k}": _s(PROBES) for k in (
        "exec", "failureThreshold", "httpGet", "initialDelaySeconds", "periodSeconds",
        "successThreshold", "tcpSocket", "timeoutSeconds")},
    "Probe.grpc": _s(LP + "test_a_grpc_readiness_probe_asks_a_real_health_server"),
    "Probe.terminationGracePeriodSeconds": _s("tests/kubelet/pods/test_probe_kill.py::test_a_"
                                              "probes_own_grace_period_wins"),
    "Lifecycle.postStart": _s(HOOKS, "exec, httpGet and sleep"),
    "Lifecycle.preStop": _s(WL + "test_pre_stop_runs_before_term_and_never_ends_in_a_phase"),
    "Lifecycle.stopSignal": _r("the image's STOPSIGNAL or SIGTERM"),
    **{f"Volume.{k}": _s(WL + "test_config_map_updates_reach_the_container") for k in (
        "name", "configMap", "secret")},
    "Volume.emptyDir": _s(EFFECTS + "test_empty_dir_size_limits", "`sizeLimit`: a disk-backed "
                          "one past it gets the pod evicted, `medium: Memory` sizes the tmpfs"),
    "Volume.hostPath": _s(EFFECTS + "test_host_path_types_are_checked_and_writes_reach_the_"
                          "node", "upstream's `type` checks"),
    "Volume.downwardAPI": _s(LP + "test_a_projected_token_is_bound_to_its_pod_and_accepted"),
    "Volume.projected": _s(LP + "test_a_projected_token_is_bound_to_its_pod_and_accepted"),
    "Volume.persistentVolumeClaim": _s("tests/lab/test_persistent_volumes.py::test_the_docs_"
                                       "task_a_pod_reads_what_the_node_wrote", "a bound "
                                       "hostPath or local PersistentVolume, `readOnly`"),
    **{f"Volume.{k}": _r("no storage plugins beyond the kubelet's own volumes") for k in (
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi",
        "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs",
        "image", "iscsi", "nfs", "photonPersistentDisk",
        "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")},
}


def _places(spec: Mapping[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """(type, path, object) for every object in a pod spec the table has rows for."""
    yield "PodSpec", path, spec
    if isinstance(spec.get("securityContext"), Mapping):
        yield "PodSecurityContext", f"{path}.securityContext", spec["securityContext"]
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(spec.get(kind) or []):
            if not isinstance(container, Mapping):
                continue
            where = f"{path}.{kind}[{i}]"
            yield ("EphemeralContainer" if kind == "ephemeralContainers" else "Container", where,
                   container)
            if isinstance(container.get("securityContext"), Mapping):
                yield "SecurityContext", f"{where}.securityContext", container["securityContext"]
            if kind == "ephemeralContainers":
                continue
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if isinstance(container.get(probe), Mapping):
                    yield "Probe", f"{where}.{probe}", container[probe]
            lifecycle = container.get("lifecycle")
            if isinstance(lifecycle, Mapping):
                yield "Lifecycle", f"{where}.lifecycle", lifecycle
    for i, volume in enumerate(spec.get("volumes") or []):
        if isinstance(volume, Mapping):
            yield "Volume", f"{path}.volumes[{i}]", volume


def _refused_fields(kind: str) -> Iterator[tuple[str, Row]]:
    base, _, context = kind.partition("@")
    for key, row in TABLE.items():
        if row.status != REFUSED:
            continue
        name, _, key_context = key.partition("@")
        owner, _, field = name.partition(".")
        if owner == base and key_context == context:
            yield field, row


def refusals(spec: Any, path: str = "spec") -> list[str]:
    """The paths in a pod spec that set a refused field (empty: nothing refused)."""
    if not isinstance(spec, Mapping):
        return []
    found = []
    for kind, where, obj in _places(spec, path):
        for field, row in _refused_fields(kind):
            value = obj.get(field)
            if value is None or value in ([], {}, "") or value in row.allowed:
                continue
            found.append(f"{where}.{field}")
    return found
