"""The `cluster` parameter of notebooks 01, 04, 06, 07: parsing, and the lab plan (pure)."""

from __future__ import annotations

import pytest

from nodelab.course.cluster import (
    KIND_NO_KUBELET_PATH,
    ClusterChoice,
    ClusterUnavailable,
    KnownLab,
    LabPlan,
    kubelet_path_problem,
    parse_cluster,
    plan_lab,
)
from nodelab.errors import NodelabError

pytestmark = pytest.mark.unit

SERVER = "https://127.0.0.1:41234"
OTHER = "https://172.29.9.1:6443"
DEMO = KnownLab("demo", "", 1)
JOINED = KnownLab("jn", SERVER, 2)
ELSEWHERE = KnownLab("joined", OTHER, 1)
NO_KIND = "kind is not installed: install it from https://kind.sigs.k8s.io"


@pytest.mark.parametrize(("value", "choice"), [
    ("embedded", ClusterChoice("embedded")),
    ("kind", ClusterChoice("kind")),
    ("./kind.kubeconfig", ClusterChoice("kubeconfig", "./kind.kubeconfig")),
    ("/tmp/admin.kubeconfig", ClusterChoice("kubeconfig", "/tmp/admin.kubeconfig")),
    ("~/.kube/config", ClusterChoice("kubeconfig", "~/.kube/config")),
    ("../k", ClusterChoice("kubeconfig", "../k")),
])
def test_accepted_forms(value: str, choice: ClusterChoice) -> None:
    assert parse_cluster(value) == choice


@pytest.mark.parametrize(("value", "says"), [
    ("Kind", "did you mean 'kind'?"),
    ("EMBEDDED", "did you mean 'embedded'?"),
    (" kind", "did you mean 'kind'?"),
    ("kubeconfig", "a kubeconfig in this directory: './kubeconfig'"),
    ("", "is not a cluster"),
    (" /tmp/k", "no spaces around it"),
    (None, "is not a string"),
    (True, "is not a string"),
    (1, "is not a string"),
])
def test_bad_values_name_the_accepted_forms(value: object, says: str) -> None:
    with pytest.raises(NodelabError) as raised:
        parse_cluster(value)
    message = str(raised.value)
    assert says in message
    assert "'embedded'" in message and "'kind'" in message and "kubeconfig" in message


EMBEDDED, KIND = ClusterChoice("embedded"), ClusterChoice("kind")
PATH = ClusterChoice("kubeconfig", "./k")


@pytest.mark.parametrize(("choice", "lab_name", "known", "fresh", "plan"), [
    # embedded: today's behaviour, `demo` or the name given; fresh takes it down first
    (EMBEDDED, "demo", [DEMO], False, LabPlan("up", "demo")),
    (EMBEDDED, None, [], False, LabPlan("up", "demo")),
    (EMBEDDED, "t1a2b", [DEMO], True, LabPlan("up", "t1a2b", take_down_first=True)),
    (EMBEDDED, "jn", [JOINED], True, LabPlan("up", "jn", take_down_first=True)),
    # kind: the kind lab, reused with its nodes
    (KIND, "demo", [DEMO], False, LabPlan("kind", "kind")),
    (KIND, None, [KnownLab("kind", SERVER, 2)], False, LabPlan("kind", "kind", 2)),
    (KIND, "kd", [], False, LabPlan("kind", "kd")),
    (KIND, "kind", [KnownLab("kind", "", 1)], True, LabPlan("kind", "kind", 1, True)),
    # a kubeconfig: a lab joined to its server is reused, else `joined`
    (PATH, "demo", [DEMO, JOINED], False, LabPlan("join", "jn", 2)),
    (PATH, None, [DEMO, KnownLab("zz", SERVER, 1), JOINED], False, LabPlan("join", "jn", 2)),
    (PATH, "demo", [DEMO], False, LabPlan("join", "joined")),
    (PATH, "t1a2b", [DEMO, JOINED], False, LabPlan("join", "t1a2b")),
    (PATH, "jn", [JOINED], False, LabPlan("join", "jn", 2)),
    (PATH, "demo", [JOINED], True, LabPlan("join", "jn", 1, True)),
    (PATH, "joined", [ELSEWHERE], True, LabPlan("join", "joined", 1, True)),
])
def test_plans(choice: ClusterChoice, lab_name: str | None, known: list[KnownLab], fresh: bool,
               plan: LabPlan) -> None:
    assert plan_lab(choice, lab_name, known, fresh=fresh, server=SERVER) == plan


def test_kind_without_its_tools_is_unavailable_with_the_reason() -> None:
    plan = plan_lab(KIND, "demo", [DEMO], kind_problem=NO_KIND)
    assert plan == LabPlan("unavailable", "kind",
                           reason=f"cluster='kind' cannot run here: {NO_KIND}")


@pytest.mark.parametrize(("choice", "lab_name", "known", "says"), [
    (EMBEDDED, "jn", [JOINED], f"lab jn is joined to {SERVER}, not an embedded lab"),
    (KIND, "demo", [KnownLab("kind", "", 1)], "lab kind is an embedded lab, not one joined"),
    (PATH, "t1a2b", [KnownLab("t1a2b", "", 1)], "lab t1a2b is an embedded lab"),
    (PATH, "jn", [KnownLab("jn", OTHER, 1)], f"lab jn is joined to {OTHER}, not to {SERVER}"),
    (PATH, "demo", [DEMO, ELSEWHERE], f"lab joined is joined to {OTHER}, not to {SERVER}"),
])
def test_a_lab_of_another_kind_is_refused_saying_what_to_do(
        choice: ClusterChoice, lab_name: str, known: list[KnownLab], says: str) -> None:
    with pytest.raises(NodelabError) as raised:
        plan_lab(choice, lab_name, known, server=SERVER)
    assert says in str(raised.value)
    assert "nodelab down --name" in str(raised.value) and "fresh_lab=True" in str(raised.value)


def test_a_kubeconfig_without_a_server_is_an_error() -> None:
    with pytest.raises(NodelabError, match="names no API server"):
        plan_lab(PATH, None, [], server="")


def test_unavailable_shows_as_one_line_in_a_notebook() -> None:
    error = ClusterUnavailable("cluster='kind' cannot run here: no Docker engine")
    assert error._render_traceback_() == [
        "ClusterUnavailable: cluster='kind' cannot run here: no Docker engine"]


@pytest.mark.parametrize(("cluster", "problem"), [
    ("embedded", ""),
    ("./admin.kubeconfig", ""),
    ("kind", KIND_NO_KUBELET_PATH),
])
def test_kubelet_path_problem(cluster: str, problem: str) -> None:
    assert kubelet_path_problem(cluster) == problem


def test_kubelet_path_problem_of_a_bad_cluster_is_the_parse_error() -> None:
    with pytest.raises(NodelabError, match="did you mean 'kind'"):
        kubelet_path_problem("Kind")
