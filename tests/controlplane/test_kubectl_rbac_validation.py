"""Real kubectl against the real API server: RBAC objects are validated and defaulted as
upstream's (a roleRef never changes, subjects and rules are checked), and a denial caused by
a binding to a missing role says so, in `kubectl auth can-i` and in the 403."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.controlplane.apiserver import RunningApiServer, running_apiserver

DEV = "system:serviceaccount:team:dev"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        server.kubectl("create", "namespace", "team")
        yield server


def test_create_rolebinding_for_a_service_account(cluster: RunningApiServer) -> None:
    cluster.kubectl("create", "rolebinding", "dev-view", "--clusterrole=view",
                    "--serviceaccount=team:dev", "--user=jane", "-n", "team")
    stored = cluster.kubectl_json("get", "rolebinding", "dev-view", "-n", "team")
    assert stored["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": "view"}
    assert stored["subjects"] == [  # kubectl sends no apiGroup for either
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"},
        {"kind": "ServiceAccount", "name": "dev", "namespace": "team"}]
    assert cluster.kubectl("auth", "can-i", "list", "pods", "-n", "team",
                           f"--as={DEV}").stdout.strip() == "yes"


def test_a_service_account_subject_defaults_to_the_bindings_namespace(
        cluster: RunningApiServer) -> None:
    manifest = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local-view, namespace: team}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: local}]
"""
    cluster.kubectl("apply", "-f", "-", input=manifest)
    stored = cluster.kubectl_json("get", "rolebinding", "local-view", "-n", "team")
    assert stored["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"  # defaulted
    can_i = ("auth", "can-i", "list", "pods", "-n", "team")
    assert cluster.kubectl(*can_i, "--as=system:serviceaccount:team:local").stdout.strip() \
        == "yes"
    assert cluster.kubectl(*can_i, "--as=system:serviceaccount:other:local",
                           check=False).stdout.strip() == "no"


def test_the_role_ref_cannot_change(cluster: RunningApiServer) -> None:
    cluster.kubectl("create", "rolebinding", "fixed", "--clusterrole=view", "--user=jane",
                    "-n", "team")
    cannot = ('roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io",'
              '"Kind":"ClusterRole","Name":"edit"}: cannot change roleRef')
    patched = cluster.kubectl("patch", "rolebinding", "fixed", "-n", "team", "--type=merge",
                              "-p", '{"roleRef":{"name":"edit"}}', check=False)
    assert patched.returncode != 0
    assert f'The RoleBinding "fixed" is invalid: {cannot}' in patched.stderr
    replaced = cluster.kubectl("create", "rolebinding", "fixed", "--clusterrole=edit",
                               "--user=jane", "-n", "team", "--dry-run=client", "-o", "yaml")
    applied = cluster.kubectl("replace", "-f", "-", input=replaced.stdout, check=False)
    assert cannot in applied.stderr
    assert cluster.kubectl_json("get", "rolebinding", "fixed", "-n", "team")[
        "roleRef"]["name"] == "view"
    # the subjects may change
    cluster.kubectl("set", "subject", "rolebinding", "fixed", "-n", "team", "--user=joe")


def test_bad_subjects_and_rules_are_refused(cluster: RunningApiServer) -> None:
    crb = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nowhere}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: view}
subjects: [{kind: ServiceAccount, name: dev}, {kind: Robot, name: r2}]
"""
    refused = cluster.kubectl("apply", "-f", "-", input=crb, check=False)
    assert refused.stderr == (  # kubectl writes one cause a line
        'The ClusterRoleBinding "nowhere" is invalid: \n'
        '* roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"\n'
        "* subjects[0].namespace: Required value\n"
        '* subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", '
        '"User", "Group"\n')
    role = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: health, namespace: team}
rules: [{verbs: [get], nonResourceURLs: [/healthz]}, {apiGroups: [""], resources: [pods]}]
"""
    refused = cluster.kubectl("apply", "-f", "-", input=role, check=False)
    assert refused.stderr == (
        'The Role "health" is invalid: \n'
        '* rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot '
        "apply to non-resource URLs\n"
        "* rules[1].verbs: Required value: verbs must contain at least one value\n")
    names = cluster.kubectl("get", "clusterrolebindings,roles", "-A", "-o", "name").stdout
    assert "nowhere" not in names and "role/health" not in names


def test_a_binding_to_a_missing_role_is_named_in_the_denial(cluster: RunningApiServer) -> None:
    cluster.kubectl("create", "rolebinding", "ghost", "--role=ghost",
                    "--serviceaccount=team:dev", "-n", "team")
    can_i = cluster.kubectl("auth", "can-i", "delete", "pods", "-n", "team", f"--as={DEV}",
                            check=False)
    assert can_i.stdout.strip() == 'no - RBAC: role.rbac.authorization.k8s.io "ghost" not found'
    denied = cluster.kubectl("delete", "pod", "web", "-n", "team", f"--as={DEV}", check=False)
    assert denied.stderr.strip() == (
        'Error from server (Forbidden): pods "web" is forbidden: User '
        f'"{DEV}" cannot delete resource "pods" in API group "" in the namespace "team": '
        'RBAC: role.rbac.authorization.k8s.io "ghost" not found')
    listed = cluster.kubectl("auth", "can-i", "--list", "-n", "team", f"--as={DEV}")
    assert "pods" in listed.stdout  # what view grants still counts


def test_the_reviews_carry_rbacs_reasons(cluster: RunningApiServer) -> None:
    """An allowed SubjectAccessReview names the binding; a rules review of an account whose
    binding names a missing role says so in `evaluationError`."""
    cluster.kubectl("create", "rolebinding", "ops-view", "--clusterrole=view",
                    "--serviceaccount=team:ops", "-n", "team")
    cluster.kubectl("create", "rolebinding", "ops-ghost", "--role=gone",
                    "--serviceaccount=team:ops", "-n", "team")
    review = """
apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: system:serviceaccount:team:ops
  resourceAttributes: {namespace: team, verb: list, resource: pods}
"""
    answered = json.loads(cluster.kubectl("create", "-f", "-", "-o", "json",
                                          input=review).stdout)
    assert answered["status"] == {"allowed": True, "reason": (
        'RBAC: allowed by RoleBinding "ops-view/team" of ClusterRole "view" to ServiceAccount '
        '"ops/team"')}
    rules = """
apiVersion: authorization.k8s.io/v1
kind: SelfSubjectRulesReview
spec: {namespace: team}
"""
    listed = json.loads(cluster.kubectl("create", "-f", "-", "-o", "json",
                                        "--as=system:serviceaccount:team:ops",
                                        input=rules).stdout)
    assert listed["status"]["evaluationError"] == \
        'role.rbac.authorization.k8s.io "gone" not found'
    assert listed["status"]["incomplete"] is False


def test_an_impersonation_refusal_is_the_authorizers(cluster: RunningApiServer,
                                                     tmp_path: Path) -> None:
    """A service account (its own token) may not impersonate: upstream's 403, from the
    same writer as every other refusal."""
    cluster.kubectl("create", "serviceaccount", "imp", "-n", "team")
    token = cluster.kubectl("create", "token", "imp", "-n", "team").stdout.strip()
    assert cluster.pki is not None
    config = tmp_path / "imp.kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "imp",
        "clusters": [{"name": "lab", "cluster": {
            "server": cluster.url, "certificate-authority": str(cluster.pki.ca_cert)}}],
        "users": [{"name": "imp", "user": {"token": token}}],
        "contexts": [{"name": "imp", "context": {"cluster": "lab", "user": "imp"}}]}))
    refused = cluster.kubectl("get", "pods", "-n", "team", "--as=jane", kubeconfig=config,
                              check=False)
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): users "jane" is forbidden: User '
        '"system:serviceaccount:team:imp" cannot impersonate resource "users" in API group '
        '"" at the cluster scope')
