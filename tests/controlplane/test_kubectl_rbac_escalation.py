"""Real kubectl against the real API server: a namespace admin grants what it holds, and is
refused with upstream's text when it would grant more, unless it holds `bind`/`escalate`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.controlplane.apiserver import RunningApiServer, running_apiserver

LEAD = "system:serviceaccount:team:lead"
AS_LEAD = f"--as={LEAD}"
HELD = ('is forbidden: user "system:serviceaccount:team:lead" (groups=['
        '"system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningApiServer]:
    """The API server with its controllers; `lead` is `admin` of the namespace `team`."""
    with running_apiserver("--controllers") as server:
        server.kubectl("create", "namespace", "team")
        server.kubectl("create", "serviceaccount", "lead", "-n", "team")
        server.kubectl("create", "rolebinding", "lead-admin", "--clusterrole=admin",
                       "--serviceaccount=team:lead", "-n", "team")
        yield server


def test_a_namespace_admin_grants_what_it_holds(cluster: RunningApiServer) -> None:
    created = cluster.kubectl("create", "rolebinding", "dev-view", "--clusterrole=view",
                              "--serviceaccount=team:dev", "-n", "team", AS_LEAD)
    assert "rolebinding.rbac.authorization.k8s.io/dev-view created" in created.stdout
    cluster.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods",
                    "-n", "team", AS_LEAD)
    cluster.kubectl("create", "rolebinding", "dev-pods", "--role=pod-reader",
                    "--serviceaccount=team:dev", "-n", "team", AS_LEAD)
    assert cluster.kubectl("auth", "can-i", "list", "pods", "-n", "team",
                           "--as=system:serviceaccount:team:dev").stdout.strip() == "yes"


def test_granting_more_is_refused_with_upstreams_text(cluster: RunningApiServer) -> None:
    refused = cluster.kubectl("create", "rolebinding", "grab", "--clusterrole=cluster-admin",
                              "--serviceaccount=team:lead", "-n", "team", AS_LEAD, check=False)
    assert refused.returncode != 0
    # kubectl's own prefix, then the server's message
    assert ('error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "grab" '
            + HELD + '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n'
            '{NonResourceURLs:["*"], Verbs:["*"]}') in refused.stderr
    role = cluster.kubectl("create", "role", "node-reader", "--verb=get", "--resource=nodes",
                           "-n", "team", AS_LEAD, check=False)
    assert ('roles.rbac.authorization.k8s.io "node-reader" ' + HELD
            + '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}') in role.stderr
    # nothing was stored, and a patch that swaps the role is refused the same way
    names = cluster.kubectl("get", "rolebindings,roles", "-n", "team", "-o", "name").stdout
    assert "grab" not in names and "node-reader" not in names
    patched = cluster.kubectl("patch", "rolebinding", "dev-view", "-n", "team", "--type=merge",
                              "-p", '{"subjects":[{"kind":"ServiceAccount","name":"lead",'
                              '"namespace":"team"}],"roleRef":{"name":"cluster-admin"}}',
                              AS_LEAD, check=False)
    assert 'rolebindings.rbac.authorization.k8s.io "dev-view" ' + HELD in patched.stderr
    kept = cluster.kubectl_json("get", "rolebinding", "dev-view", "-n", "team")
    assert kept["roleRef"]["name"] == "view"


def test_bind_and_escalate_let_a_writer_grant_more(cluster: RunningApiServer) -> None:
    cluster.kubectl("create", "clusterrole", "bind-cluster-admin", "--verb=bind",
                    "--resource=clusterroles", "--resource-name=cluster-admin")
    cluster.kubectl("create", "clusterrole", "escalate-roles", "--verb=escalate",
                    "--resource=roles")
    for role in ("bind-cluster-admin", "escalate-roles"):
        cluster.kubectl("create", "rolebinding", f"lead-{role}", f"--clusterrole={role}",
                        "--serviceaccount=team:lead", "-n", "team")
    cluster.kubectl("create", "rolebinding", "ops", "--clusterrole=cluster-admin",
                    "--serviceaccount=team:ops", "-n", "team", AS_LEAD)
    cluster.kubectl("create", "role", "node-reader", "--verb=get", "--resource=nodes",
                    "-n", "team", AS_LEAD)
    # `bind` names one role: another still needs its rules held
    other = cluster.kubectl("create", "rolebinding", "other", "--clusterrole=system:node-proxier",
                            "--serviceaccount=team:ops", "-n", "team", AS_LEAD, check=False)
    assert "is attempting to grant RBAC permissions not currently held" in other.stderr


def test_a_deleted_namespace_takes_its_roles_and_bindings(cluster: RunningApiServer) -> None:
    """The namespace controller deletes RBAC objects too, so a namespace made again under the
    same name grants nothing of the old one's."""
    cluster.kubectl("create", "namespace", "gone")
    cluster.kubectl("create", "rolebinding", "old-admin", "--clusterrole=admin",
                    "--serviceaccount=gone:x", "-n", "gone")
    cluster.kubectl("create", "role", "old", "--verb=get", "--resource=pods", "-n", "gone")
    cluster.kubectl("delete", "namespace", "gone", "--timeout=30s")
    deadline = time.monotonic() + 30
    while "NotFound" not in cluster.kubectl("get", "ns", "gone", check=False).stderr:
        assert time.monotonic() < deadline, "the namespace was not removed"
        time.sleep(0.2)
    cluster.kubectl("create", "namespace", "gone")
    assert cluster.kubectl("get", "roles,rolebindings", "-n", "gone", "-o", "name").stdout == ""
