"""compute_pod_actions: what one sync does, for each case upstream's computePodActions covers."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.actions import (
    PodActions,
    Sandbox,
    compute_pod_actions,
    should_restart,
)
from nodelab.kubelet.pods.backoff import (
    Backoff,
    BackoffSettings,
    ContainerMemory,
    next_backoff,
)
from nodelab.kubelet.pods.status import Instance

pytestmark = pytest.mark.unit
NOW = 1_000_000.0
READY = [Sandbox("s1", 0, True)]
DEAD = [Sandbox("s1", 0, False)]


def pod(policy: str = "Always", apps: tuple[str, ...] = ("app",), inits: tuple[str, ...] = (),
        sidecars: tuple[str, ...] = ()) -> dict[str, Any]:
    init = [{"name": n, "image": "busybox:1.36"} for n in inits]
    init += [{"name": n, "image": "busybox:1.36", "restartPolicy": "Always"} for n in sidecars]
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"restartPolicy": policy, "initContainers": init,
                     "containers": [{"name": n, "image": "busybox:1.36"} for n in apps]}}


def ran(name: str, state: str = "running", attempt: int = 0, code: int = 0,
        sandbox: str = "s1", seconds: int = 5) -> Instance:
    return Instance(f"{name}-{sandbox}-{attempt}", name, attempt, state, exit_code=code,
                    sandbox_id=sandbox, started_at="2026-01-01T00:00:00Z",
                    finished_at=f"2026-01-01T00:{seconds // 60:02d}:{seconds % 60:02d}Z"
                    if state == "exited" else "")


def starts(actions: PodActions) -> list[tuple[str, int]]:
    return [(s.name, s.attempt) for s in actions.init_containers_to_start
            + actions.containers_to_start]


def backing_off(until: float, delay: float = 10.0) -> dict[str, ContainerMemory]:
    return {"app": ContainerMemory(backoff=Backoff(delay, until))}


# --- restart policies ------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "code", "restarts"), [
    ("Always", 0, True), ("Always", 1, True),
    ("OnFailure", 0, False), ("OnFailure", 1, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_an_exited_container_restarts_per_the_restart_policy(policy: str, code: int,
                                                             restarts: bool) -> None:
    actions = compute_pod_actions(pod(policy), READY, [ran("app", "exited", 2, code)], {}, NOW)
    assert starts(actions) == ([("app", 3)] if restarts else [])
    assert not actions.kill_pod and not actions.create_sandbox


@pytest.mark.parametrize(("state", "policy", "expected"), [
    (None, "Never", True), ("created", "Never", True), ("unknown", "Never", True),
    ("running", "Always", False), ("exited", "Never", False), ("exited", "Always", True),
])
def test_should_restart_follows_upstream(state: str | None, policy: str, expected: bool) -> None:
    latest = None if state is None else ran("app", state)
    assert should_restart(policy, latest) is expected


def test_a_new_pod_gets_a_sandbox_and_its_containers() -> None:
    actions = compute_pod_actions(pod(apps=("a", "b")), [], [], {}, NOW)
    assert actions.create_sandbox and actions.attempt == 0 and not actions.kill_pod
    assert starts(actions) == [("a", 0), ("b", 0)]


def test_a_running_container_is_kept_and_probed() -> None:
    actions = compute_pod_actions(pod(), READY, [ran("app")], {}, NOW)
    assert actions == PodActions(sandbox_id="s1", containers_to_probe=("app",))


def test_a_container_stuck_created_or_unknown_is_started_anew() -> None:
    created = compute_pod_actions(pod("Never"), READY, [ran("app", "created")], {}, NOW)
    assert starts(created) == [("app", 1)] and not created.containers_to_kill
    unknown = compute_pod_actions(pod(), READY, [ran("app", "unknown")], {}, NOW)
    assert starts(unknown) == [("app", 1)]
    assert [k.id for k in unknown.containers_to_kill] == ["app-s1-0"]


def test_a_restart_removes_older_instances_and_keeps_the_last() -> None:
    instances = [ran("app", "exited", 3, 1), ran("app", "exited", 2, 1), ran("app", "exited", 1)]
    [start] = compute_pod_actions(pod(), READY, instances, {}, NOW).containers_to_start
    assert start.restart and start.attempt == 4
    assert start.remove == ("app-s1-2", "app-s1-1")


# --- CrashLoopBackOff ------------------------------------------------------------------------

@pytest.mark.parametrize(("not_before", "waits", "event"), [
    (NOW + 9.5, True, True),  # the first sync of the period records the BackOff event
    (NOW + 3.0, True, False),  # later syncs of it only wait
    (NOW, False, False),  # over: restart
    (NOW - 60, False, False),
])
def test_crash_loop_back_off_waits_out_the_delay(not_before: float, waits: bool,
                                                 event: bool) -> None:
    actions = compute_pod_actions(pod(), READY, [ran("app", "exited", 1, 1)],
                                  backing_off(not_before), NOW)
    if waits:
        [wait] = actions.backing_off
        assert (wait.reason, wait.event) == ("CrashLoopBackOff", event)
        assert wait.message == "back-off 10s restarting failed container=app pod=web_default(u1)"
        assert not starts(actions)
    else:
        assert starts(actions) == [("app", 2)] and not actions.backing_off


@pytest.mark.parametrize(("delay", "expected"), [
    (0.0, 10.0), (10.0, 20.0), (20.0, 40.0), (160.0, 300.0), (300.0, 300.0),
])
def test_the_backoff_doubles_up_to_the_cap(delay: float, expected: float) -> None:
    after = next_backoff(Backoff(delay, 0), NOW, BackoffSettings())
    assert after == Backoff(expected, NOW + expected)


def test_a_lab_cap_bounds_the_backoff() -> None:
    settings = BackoffSettings(initial=2.0, max=2.0)
    assert next_backoff(Backoff(2.0, 0), NOW, settings).delay == 2.0


@pytest.mark.parametrize(("seconds", "reset"), [(5, False), (601, True)])
def test_a_container_that_ran_long_resets_its_backoff(seconds: int, reset: bool) -> None:
    [start] = compute_pod_actions(pod(), READY, [ran("app", "exited", 1, 1, seconds=seconds)],
                                  {}, NOW).containers_to_start
    assert start.reset_backoff is reset


# --- init containers -------------------------------------------------------------------------

@pytest.mark.parametrize(("instances", "expected", "probed"), [
    ([], [("i1", 0)], ()),  # the first one first
    ([ran("i1")], [], ()),  # wait while it runs
    ([ran("i1", "exited")], [("i2", 0)], ()),  # then the next one
    ([ran("i1", "exited"), ran("i2", "exited")], [("app", 0)], ()),  # then the app containers
    ([ran("i1", "exited"), ran("i2", "exited"), ran("app")], [], ("app",)),
    # initialized: init containers are not looked at again, even if their instances are gone
    ([ran("app")], [], ("app",)),
])
def test_init_containers_run_one_after_the_other(instances: list[Instance],
                                                 expected: list[tuple[str, int]],
                                                 probed: tuple[str, ...]) -> None:
    actions = compute_pod_actions(pod(inits=("i1", "i2")), READY, instances, {}, NOW)
    assert starts(actions) == expected
    assert actions.containers_to_probe == probed


@pytest.mark.parametrize(("policy", "kill_pod", "expected"), [
    ("Always", False, [("i1", 1)]), ("OnFailure", False, [("i1", 1)]), ("Never", True, []),
])
def test_a_failed_init_container_restarts_unless_the_policy_is_never(
        policy: str, kill_pod: bool, expected: list[tuple[str, int]]) -> None:
    actions = compute_pod_actions(pod(policy, inits=("i1", "i2")), READY,
                                  [ran("i1", "exited", code=1)], {}, NOW)
    assert actions.kill_pod is kill_pod
    assert starts(actions) == expected


def test_a_failed_init_container_backs_off() -> None:
    actions = compute_pod_actions(pod(inits=("app0",), apps=("app",)), READY,
                                  [ran("app0", "exited", code=1)],
                                  {"app0": ContainerMemory(backoff=Backoff(10, NOW + 5))}, NOW)
    assert [w.name for w in actions.backing_off] == ["app0"] and not starts(actions)


def test_init_instances_of_an_old_sandbox_do_not_count() -> None:
    old = [ran("i1", "exited", sandbox="s0"), ran("i2", "exited", sandbox="s0"),
           ran("app", "exited", sandbox="s0", code=1)]
    actions = compute_pod_actions(pod(inits=("i1", "i2")), [Sandbox("s1", 1, True)],
                                  old + [ran("i1", "exited", 1)], {}, NOW)
    assert starts(actions) == [("i2", 1)]


# --- sidecars (restartable init containers) --------------------------------------------------

@pytest.mark.parametrize(("instances", "expected"), [
    ([], [("side", 0)]),  # in its turn, before the regular init container after it
    ([ran("side")], [("i1", 0)]),  # running: the next one may start
    ([ran("side"), ran("i1", "exited")], [("app", 0)]),
    ([ran("side", "exited", code=0), ran("i1")], [("side", 1)]),  # exited: restarted
])
def test_a_sidecar_starts_in_order_and_keeps_running(instances: list[Instance],
                                                     expected: list[tuple[str, int]]) -> None:
    spec = pod(sidecars=("side",))
    spec["spec"]["initContainers"].append({"name": "i1", "image": "busybox:1.36"})
    assert starts(compute_pod_actions(spec, READY, instances, {}, NOW)) == expected


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_sidecar_restarts_after_initialization_whatever_the_pod_policy(policy: str) -> None:
    actions = compute_pod_actions(pod(policy, sidecars=("side",)), READY,
                                  [ran("side", "exited", 0, 1), ran("app")], {}, NOW)
    assert [(s.name, s.init) for s in actions.init_containers_to_start] == [("side", True)]
    assert actions.containers_to_probe == ("app",)


# --- the sandbox -----------------------------------------------------------------------------

def test_a_dead_sandbox_is_replaced_and_what_runs_is_killed() -> None:
    actions = compute_pod_actions(pod(), DEAD, [ran("app", "running", 2)], {}, NOW)
    assert actions.create_sandbox and actions.kill_pod and actions.attempt == 1
    assert actions.sandbox_id == "s1"  # the one replaced: SandboxChanged
    assert [k.id for k in actions.containers_to_kill] == ["app-s1-2"]
    assert starts(actions) == [("app", 3)]


def test_a_new_sandbox_starts_over_from_the_first_init_container() -> None:
    old = [ran("i1", "exited", sandbox="s0"), ran("app", "exited", code=1, sandbox="s0")]
    actions = compute_pod_actions(pod(inits=("i1",)), [Sandbox("s0", 0, False)], old, {}, NOW)
    assert actions.create_sandbox and starts(actions) == [("i1", 1)]


@pytest.mark.parametrize(("policy", "code", "creates"), [
    ("Never", 0, False),  # its containers ran: nothing would run in a new sandbox
    ("OnFailure", 0, False),  # finished for good
    ("OnFailure", 1, True),
    ("Always", 0, True),
])
def test_no_new_sandbox_for_a_pod_that_has_nothing_left_to_run(policy: str, code: int,
                                                               creates: bool) -> None:
    actions = compute_pod_actions(pod(policy), DEAD, [ran("app", "exited", code=code)], {}, NOW)
    assert actions.create_sandbox is creates
    assert actions.kill_pod  # upstream's KillPod: the dead sandbox is stopped either way


def test_a_never_pod_whose_first_sandbox_failed_gets_another() -> None:
    actions = compute_pod_actions(pod("Never"), DEAD, [], {}, NOW)
    assert actions.create_sandbox and starts(actions) == [("app", 0)]


@pytest.mark.parametrize(("memory", "expected"), [
    ({}, []),  # not probed yet: its startup probe gates the next init container
    ({"side": ContainerMemory(probed_instance="side-s1-0", started=False)}, []),
    ({"side": ContainerMemory(probed_instance="side-s1-0", started=True)}, [("i1", 0)]),
    ({"side": ContainerMemory(probed_instance="an-older-one", started=True)}, []),
])
def test_a_sidecar_with_a_startup_probe_holds_the_next_one_until_started(
        memory: dict[str, ContainerMemory], expected: list[tuple[str, int]]) -> None:
    spec = pod(sidecars=("side",))
    spec["spec"]["initContainers"][0]["startupProbe"] = {"exec": {"command": ["true"]}}
    spec["spec"]["initContainers"].append({"name": "i1", "image": "busybox:1.36"})
    actions = compute_pod_actions(spec, READY, [ran("side")], memory, NOW)
    assert starts(actions) == expected
    assert actions.containers_to_probe == ("side",)  # probed either way


# --- ephemeral containers --------------------------------------------------------------------

def _debugged(target: str = "app") -> dict[str, Any]:
    spec = pod()
    spec["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox:1.36",
                                            "targetContainerName": target}]
    return spec


@pytest.mark.parametrize(("instances", "started", "waiting"), [
    ([ran("app")], [("dbg", "app-s1-0")], []),  # into the target's PID namespace
    ([ran("app", "exited", code=1)], [], ["CreateContainerConfigError"]),  # target not running
    ([ran("app"), ran("dbg", "exited")], [], []),  # once started, never again
    ([ran("app"), ran("dbg")], [], []),
])
def test_an_ephemeral_container_starts_once_beside_its_target(
        instances: list[Instance], started: list[tuple[str, str]], waiting: list[str]) -> None:
    actions = compute_pod_actions(_debugged(), READY, instances, {}, NOW)
    assert [(s.name, s.target_id) for s in actions.ephemeral_containers_to_start] == started
    assert [w.reason for w in actions.backing_off if w.name == "dbg"] == waiting


def test_an_ephemeral_container_does_not_wait_for_initialization() -> None:
    spec = _debugged()
    spec["spec"]["ephemeralContainers"][0].pop("targetContainerName")
    spec["spec"]["initContainers"] = [{"name": "i1", "image": "busybox:1.36"}]
    actions = compute_pod_actions(spec, READY, [ran("i1")], {}, NOW)
    assert [(s.name, s.target_id) for s in actions.ephemeral_containers_to_start] == [("dbg", "")]
    assert not actions.containers_to_start


@pytest.mark.parametrize(("exited_ago", "waits", "event"), [
    (0.5, True, True),  # just crashed: wait the delay, and say so once
    (5.0, True, False),
    (20.5, False, False),  # the delay, counted from the exit, is over
    (300.0, False, False),  # it ran long after its last restart: no wait at all
])
def test_the_backoff_is_counted_from_the_exit(exited_ago: float, waits: bool,
                                              event: bool) -> None:
    crashed = Instance("app-1", "app", 1, "exited", exit_code=1, sandbox_id="s1",
                       started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:09Z",
                       finished=NOW - exited_ago)
    memory = {"app": ContainerMemory(backoff=Backoff(20.0, NOW - 100))}  # restarted long ago
    actions = compute_pod_actions(pod(), READY, [crashed], memory, NOW)
    assert [w.event for w in actions.backing_off] == ([event] if waits else [])
    assert starts(actions) == ([] if waits else [("app", 2)])
