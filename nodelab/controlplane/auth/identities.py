"""Who each of the lab's own components is to the API server, and the rights it gets.

Every component that talks to an API server has its own client certificate from the lab CA
(the certificate's CN is the user, its O values the groups, as kube-apiserver reads them) and
upstream's rights for its job, never the learner's admin identity:

- the learner (`kubectl`): `admin` in `system:masters`: everything (`cluster-admin`);
- each kubelet: `system:node:<node>` in `system:nodes`: the Node authorizer + NodeRestriction;
- the API server, to kubelets: `kube-apiserver-kubelet-client`: `system:kubelet-api-admin`
  (kubeadm's `kubeadm:kubelet-api-admin` binding);
- scheduler + controllers: `system:kube-controller-manager`: `system:kube-controller-manager`
  plus `system:nodelab:controllers` (see `bootstrap_policy.py`);
- kube-proxy: `system:kube-proxy`: `system:node-proxier` (upstream's bootstrap binding);
- podnet (kindnet's role): `nodelab:podnet`: ClusterRole `nodelab:podnet`, list and watch
  Nodes, Pods, Namespaces and NetworkPolicies, and records Events, nothing else.

The bootstrap policy (`bootstrap_policy.py`) holds upstream's own roles and bindings; this
module holds what a cluster installer adds on top (kubeadm binds its kubelet client to
`system:kubelet-api-admin`; kind installs kindnet's ClusterRole and binding): the embedded API
server creates them at start, and `nodelab join` creates podnet's in the cluster it joins.
podnet's ClusterRole lists exactly what `nodelab.podnet` reads (it lists and watches Nodes for
their pod ranges and addresses, and Pods, Namespaces and NetworkPolicies to enforce the
policies, and writes nothing to the API), as kindnet's role reads them; kindnet's also patches
Nodes, which podnet does not do.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.kube.objects import Object


@dataclass(frozen=True)
class ComponentIdentity:
    """A component's client certificate: `name` is the file stem under the lab's pki/."""

    name: str
    user: str
    groups: tuple[str, ...] = ()


KUBELET_CLIENT = ComponentIdentity("apiserver-kubelet-client", "kube-apiserver-kubelet-client")
CONTROLLER_MANAGER = ComponentIdentity("controller-manager", "system:kube-controller-manager")
KUBE_PROXY = ComponentIdentity("kube-proxy", "system:kube-proxy")
PODNET = ComponentIdentity("podnet", "nodelab:podnet")

PODNET_ROLE = "nodelab:podnet"
KUBELET_API_ADMIN = "system:kubelet-api-admin"


def _cluster_role(name: str, rules: list[Object]) -> Object:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}


def _user_binding(name: str, role: str, user: str) -> Object:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": user}]}


PODNET_CLUSTER_ROLE = _cluster_role(PODNET_ROLE, [
    {"apiGroups": [""], "resources": ["nodes", "pods", "namespaces"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
     "verbs": ["list", "watch"]},
    # the Warning on its Node when policies cannot be enforced (upstream's recorder rule)
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]}])
PODNET_BINDING = _user_binding(PODNET_ROLE, PODNET_ROLE, PODNET.user)
KUBELET_API_ADMIN_BINDING = _user_binding("kubeadm:kubelet-api-admin", KUBELET_API_ADMIN,
                                          KUBELET_CLIENT.user)

# what the embedded control plane adds to upstream's bootstrap policy, as an installer would
INSTALLER_CLUSTER_ROLES: tuple[Object, ...] = (PODNET_CLUSTER_ROLE,)
INSTALLER_CLUSTER_ROLE_BINDINGS: tuple[Object, ...] = (PODNET_BINDING,
                                                       KUBELET_API_ADMIN_BINDING)
