"""Upstream's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy), as far
as nodelab serves the resources it names.

kube-apiserver creates these ClusterRoles and ClusterRoleBindings at start and puts them back
when changed (`rbac.authorization.kubernetes.io/autoupdate: "true"`): `cluster-admin` for the
group `system:masters` (the learner's `admin`), the user-facing `admin`, `edit` and `view`
built by aggregation from the `system:aggregate-to-*` roles, `system:basic-user`,
`system:discovery` and `system:public-info-viewer` for everyone authenticated, and the roles
of the control plane's own users (`system:kube-proxy` as `system:node-proxier`,
`system:kube-scheduler`, `system:kube-controller-manager`). Nodes are authorized by the Node
authorizer first, as upstream, so `system:node` is not bound.
"""

from __future__ import annotations

from nodelab.kube.objects import Object

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Object:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


def _urls(verbs: list[str], urls: list[str]) -> Object:
    return {"verbs": verbs, "nonResourceURLs": urls}


def _role(name: str, rules: list[Object], labels: dict[str, str] | None = None,
          aggregate_from: str = "") -> Object:
    role: Object = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": name, "labels": {**LABELS, **(labels or {})},
                                 "annotations": dict(ANNOTATIONS)},
                    "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {
            f"rbac.authorization.k8s.io/aggregate-to-{aggregate_from}": "true"}}]}
        role["rules"] = []
    return role


def _binding(role: str, *subjects: tuple[str, str]) -> Object:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": dict(LABELS),
                         "annotations": dict(ANNOTATIONS)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}
                         for kind, name in subjects]}


_POD_VIEW = ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints",
             "configmaps", "serviceaccounts", "events", "persistentvolumeclaims",
             "persistentvolumeclaims/status", "replicationcontrollers",
             "replicationcontrollers/scale", "replicationcontrollers/status", "limitranges",
             "resourcequotas", "resourcequotas/status", "bindings"]
_APPS = ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
         "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
         "statefulsets", "statefulsets/scale", "statefulsets/status", "controllerrevisions"]
_BATCH = ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]

VIEW = [
    _rule(READ, [""], _POD_VIEW),
    _rule(READ, [""], ["namespaces", "namespaces/status"]),
    _rule(READ, ["apps"], _APPS),
    _rule(READ, ["batch"], _BATCH),
    _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(READ, ["events.k8s.io"], ["events"]),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers",
                                  "horizontalpodautoscalers/status"]),
]
EDIT = [
    _rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(["patch", "update"], [""], ["pods/ephemeralcontainers"]),
    _rule(WRITE, [""], ["configmaps", "endpoints", "persistentvolumeclaims",
                        "replicationcontrollers", "replicationcontrollers/scale", "secrets",
                        "serviceaccounts", "services", "services/proxy"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                       "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback",
                            "deployments/scale", "replicasets", "replicasets/scale",
                            "statefulsets", "statefulsets/scale"]),
    _rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
    _rule(WRITE, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
]
ADMIN = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule([*WRITE, *READ], ["rbac.authorization.k8s.io"], ["rolebindings", "roles"]),
]

CLUSTER_ROLES: list[Object] = [
    _role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
    _role("admin", [], aggregate_from="admin"),
    _role("edit", [], {"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
          aggregate_from="edit"),
    _role("view", [], {"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
          aggregate_from="view"),
    _role("system:aggregate-to-admin", ADMIN,
          {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}),
    _role("system:aggregate-to-edit", EDIT,
          {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
    _role("system:aggregate-to-view", VIEW,
          {"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
    _role("system:basic-user", [
        _rule(["create"], ["authorization.k8s.io"],
              ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
    _role("system:discovery", [_urls(["get"], [
        "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
        "/readyz", "/version", "/version/"])]),
    _role("system:public-info-viewer", [_urls(["get"], [
        "/healthz", "/livez", "/readyz", "/version", "/version/"])]),
    _role("system:monitoring", [_urls(["get"], [  # the single checks' paths too
        "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*",
        "/healthz/*"])]),
    _role("system:service-account-issuer-discovery", [_urls(["get"], [
        "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
        "/openid/v1/jwks", "/openid/v1/jwks/"])]),
    _role("system:auth-delegator", [
        _rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        _rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
    # full access to the kubelet API (KubeletFineGrainedAuthz, GA in 1.36, adds the last three)
    _role("system:kubelet-api-admin", [
        _rule(READ, [""], ["nodes"]),
        _rule(["proxy"], [""], ["nodes"]),
        _rule(["*"], [""], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
        _rule(["*"], [""], ["nodes/pods", "nodes/healthz", "nodes/configz"])]),
    _role("system:node-proxier", [
        _rule(["list", "watch"], [""], ["endpoints", "services"]),
        _rule(["get", "list", "watch"], [""], ["nodes"]),
        _rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
        _rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"])]),
    # bound to nobody (upstream: "deployment locations can reasonably vary"); a lab's
    # detector binds it (`npd-binding`, nodelab/lab/addons/node_problem_detector.py)
    _role("system:node-problem-detector", [
        _rule(["get"], [""], ["nodes"]),
        _rule(["patch"], [""], ["nodes/status"]),
        _rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"])]),
    _role("system:kube-scheduler", [
        _rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
        _rule(["create"], ["coordination.k8s.io"], ["leases"]),
        _rule(["get", "update"], ["coordination.k8s.io"], ["leases"]),
        _rule(["get", "list", "watch"], [""], ["nodes"]),
        _rule(["delete", "get", "list", "watch"], [""], ["pods"]),
        _rule(["create"], [""], ["bindings", "pods/binding"]),
        _rule(["patch", "update"], [""], ["pods/status"]),
        _rule(["get", "list", "watch"], ["", "apps"],
              ["replicationcontrollers", "services", "replicasets", "statefulsets"]),
        _rule(["get", "list", "watch"], ["policy"], ["poddisruptionbudgets"]),
        _rule(["get", "list", "watch"], [""], ["namespaces", "persistentvolumeclaims",
                                               "persistentvolumes", "configmaps"])]),
    # the volume scheduling and dynamic provisioning roles (the second bound to nobody: a
    # provisioner's deployment binds it, as the lab's local-path provisioner would)
    _role("system:volume-scheduler", [
        _rule([*READ, "update", "patch"], [""], ["persistentvolumes"]),
        _rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        _rule([*READ, "update", "patch"], [""], ["persistentvolumeclaims"])]),
    _role("system:persistent-volume-provisioner", [
        _rule(["create", "delete", "get", "list", "watch"], [""], ["persistentvolumes"]),
        _rule(["get", "list", "watch", "update"], [""], ["persistentvolumeclaims"]),
        _rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        _rule(["watch", "create", "patch", "update"], ["", "events.k8s.io"], ["events"])]),
    _role("system:kube-controller-manager", [
        _rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
        _rule(["create"], ["coordination.k8s.io"], ["leases"]),
        _rule(["get", "update"], ["coordination.k8s.io"], ["leases"]),
        _rule(["create"], [""], ["secrets", "serviceaccounts"]),
        _rule(["delete"], [""], ["secrets"]),
        _rule(["get"], [""], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
        _rule(["update"], [""], ["secrets", "serviceaccounts"]),
        _rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        _rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        _rule(["list", "watch"], ["*"], ["*"]),
        _rule(["create"], [""], ["serviceaccounts/token"])]),
]

# nodelab runs every controller and the scheduler in one process as one user; upstream runs
# each controller as its own service account (`system:controller:*`, with roles that together
# read and write nearly every kind: the garbage collector and namespace controller delete
# anything, RBAC objects included). Until nodelab has those identities, the combined user gets
# their union: it reads everything and writes every kind of the groups its controllers manage,
# RBAC included (the namespace controller deletes a namespace's Roles and RoleBindings); like
# any writer it cannot grant more than it holds (`escalation.py`), and it may not impersonate.
CONTROLLER_WRITE_GROUPS = ["", "apps", "autoscaling", "batch", "discovery.k8s.io",
                           "coordination.k8s.io", "certificates.k8s.io", "events.k8s.io",
                           "policy", "rbac.authorization.k8s.io", "storage.k8s.io"]
CLUSTER_ROLES.append(_role("system:nodelab:controllers", [
    _rule(READ, ["*"], ["*"]),
    _rule(WRITE, CONTROLLER_WRITE_GROUPS, ["*"])]))

CLUSTER_ROLE_BINDINGS: list[Object] = [
    _binding("cluster-admin", ("Group", "system:masters")),
    _binding("system:basic-user", ("Group", "system:authenticated")),
    _binding("system:discovery", ("Group", "system:authenticated")),
    _binding("system:public-info-viewer", ("Group", "system:authenticated"),
             ("Group", "system:unauthenticated")),
    _binding("system:monitoring", ("Group", "system:monitoring")),
    _binding("system:service-account-issuer-discovery", ("Group", "system:serviceaccounts")),
    _binding("system:node-proxier", ("User", "system:kube-proxy")),
    _binding("system:kube-scheduler", ("User", "system:kube-scheduler")),
    _binding("system:volume-scheduler", ("User", "system:kube-scheduler")),
    _binding("system:kube-controller-manager", ("User", "system:kube-controller-manager")),
    _binding("system:nodelab:controllers", ("User", "system:kube-controller-manager")),
]

# upstream's NamespaceRoles (kube-system): reading the ConfigMap an aggregated API server
# trusts the front proxy by (bound by e.g. metrics-server's `metrics-server-auth-reader`)
NAMESPACE_ROLES: list[tuple[str, Object]] = [
    ("kube-system", {"metadata": {"name": "extension-apiserver-authentication-reader",
                                  "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                                  "annotations": {
                                      "rbac.authorization.kubernetes.io/autoupdate": "true"}},
                     "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""],
                                "resources": ["configmaps"],
                                "resourceNames": ["extension-apiserver-authentication"]}]}),
]
