"""Suite-wide fixtures: a private state base, uniquely named labs, and the residue check.

The residue check snapshots everything with a nodelab name (network namespaces, links,
cgroups, mounts, lab processes, iptables chains, nft tables, and the containerd shim sockets
and runc state under /run/containerd when no host containerd runs: nodelab/lab/residue.py)
when the session starts and fails the run if anything new is still there when it ends. What
belongs to a lab of another test session or of a learner running on the same host at the same
time (what another live process claimed: its state base and labs, a test runtime's directory
and names; a shim that still runs; and a directory that holds some of theirs) is not this
session's residue.

The session claims its state base (nodelab/lab/claims.py) and, before anything else, takes down
what earlier test runs that were killed left behind (their claims' owners are dead), so a
killed run costs the next one nothing and never counts as its residue.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from nodelab.host.processes import ProcessId
from nodelab.lab.claims import Claim
from nodelab.lab.containerd.host_files import live_shim_sockets
from nodelab.lab.lab import Lab, take_down_lab
from tests.distribution import add_duration, group_items, group_of_item, write_durations
from tests.security.victim import FIGURE

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root: real namespaces and links")

_STATE_BASE = Path(tempfile.mkdtemp(prefix="nlt-", dir="/tmp"))
os.environ["NODELAB_STATE_DIR"] = str(_STATE_BASE)
os.chmod(_STATE_BASE, 0o755)


def _residue() -> set[str]:
    if not IS_ROOT:
        return set()
    from nodelab.lab.residue import residue

    return residue()


_CLAIM = None
if IS_ROOT:
    from nodelab.lab.claims import claim, reap_abandoned

    reap_abandoned()  # what killed test runs left
    _CLAIM = claim("labs", _STATE_BASE)
_BEFORE = _residue()


def _labs_in(base: Path) -> list[str]:
    return [lab.name for lab in base.iterdir() if lab.is_dir()] if base.is_dir() else []


_LEARNER_LABS = _labs_in(Path("/var/lib/nodelab"))  # labs brought up outside the suite


def others_claims(held: Iterable[Claim], me: int, alive: Callable[[ProcessId], bool]
                  ) -> list[Claim]:
    """The claims (nodelab/lab/claims.py) of the other test sessions and harnesses that run
    now: each one whose owner is not this process and lives (its PID with the recorded start
    time). A claim whose owner is gone is nobody's (the next session reaps it), and so is a
    /tmp/nlt-* directory nobody claims (an empty one left by a killed run made every later
    session count another session)."""
    return [c for c in held if c.owner.pid != me and alive(c.owner)]


def _others() -> tuple[list[str], list[str], list[str]]:
    """What other sessions that run now claimed (their state bases and runtime directories,
    and their runtimes' name prefixes), and the names of their labs and of the labs a learner
    had up (in the default state base) when this session started."""
    from nodelab.lab.claims import claims

    theirs = others_claims(claims(), os.getpid(), ProcessId.alive)
    labs = [lab for c in theirs if c.kind == "labs" for lab in _labs_in(c.root)]
    return ([str(c.root) for c in theirs], [*labs, *_LEARNER_LABS],
            [c.prefix for c in theirs if c.prefix])


def foreign(item: str, bases: list[str], labs: list[str],
            shim_sockets: Collection[Path] = (), prefixes: Collection[str] = ()) -> bool:
    """True when a residue line names another session's claimed directory or one of its labs
    (netns, link, cgroup, chain and table names carry `nl<lab>-`, a lab's processes
    `(lab <lab>)`) or runtimes (netns `<prefix>-...`, cgroup `nodelab/<prefix>`), is a
    directory all labs share while another session runs (`shared_parent`), or is the socket of
    a shim that runs now (when the session ends, its own shims are gone: one
    that runs is another session's lab's or test runtime's)."""
    lowered = item.lower()
    return (any(base + "/" in item for base in bases)
            or (bool(bases) and shared_parent(item))
            or any(f"nl{lab}-".lower() in lowered or f"nodelab/{lab}" in item
                   or item.endswith(f"(lab {lab})") for lab in labs)
            or any(f"{prefix}-" in lowered or item.endswith(f"nodelab/{prefix}")
                   or f"nodelab/{prefix}/" in item for prefix in prefixes)
            or any(item == f"path {socket}" for socket in shim_sockets))


def shared_parent(item: str) -> bool:
    """A directory every lab on the host shares (a hierarchy's `nodelab` cgroup, containerd's
    /run/containerd/s and /run/containerd/runc): while another test session runs, it may be
    between making it and making its own entry in it (or removing both), so an empty one is not
    this session's to answer for."""
    return (item.startswith("cgroup ") and item.endswith("/nodelab")) or item in (
        "path /run/containerd/s", "path /run/containerd/runc")


def left_by_session(now: set[str], before: set[str], theirs: Callable[[str], bool]) -> list[str]:
    """The residue lines this session left: each one new since it started and not another's,
    except a directory that holds another's entries (the hierarchies' `nodelab` cgroup, which
    another lab's cgroups are in, or /run/containerd/s with another lab's shim sockets): that
    directory stays for them, as `down` leaves it."""
    others = [item for item in now if theirs(item)]
    return sorted(item for item in now - before if not theirs(item)
                  and not any(other.startswith(item + "/") for other in others))


def _wide_fixtures(item: pytest.Item) -> list[str]:
    """The session- and package-scoped fixtures `item` uses, but the suite-wide ones here."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [f"{defs[-1].baseid}::{name}" for name, defs in info.name2fixturedefs.items()
            if defs and defs[-1].scope in ("session", "package")
            and defs[-1].baseid not in ("", "tests")]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse `-n` without `--dist loadgroup`: xdist's other modes split a module's tests
    across workers, and a module's tests share its labs and may depend on their order. Note
    where `--record-durations` writes (the controller of a run on workers sees every report)."""
    record = config.getoption("--record-durations")
    if record and not hasattr(config, "workerinput"):
        _RECORDING.append(Path(record))
    if getattr(config.option, "numprocesses", None) and \
            getattr(config.option, "dist", "no") != "loadgroup":
        raise pytest.UsageError("run the suite on workers with `-n N --dist loadgroup "
                                "--no-loadscope-reorder` (as scripts/setup test does): "
                                "tests/distribution.py keeps each module on one worker")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record-durations", metavar="PATH", default=None,
                     help="write each test module's seconds (setup, call and teardown) to PATH as "
                          "JSON: tests/durations.json orders the work groups of a run with -n")


_DURATIONS: dict[str, float] = {}
_RECORDING: list[Path] = []  # where --record-durations writes, in the process that writes it


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _RECORDING:
        add_duration(_DURATIONS, report.nodeid, report.duration)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]
                                  ) -> Generator[None]:
    """On a pytest-xdist worker run with `--dist loadgroup`, put each test in its work group
    and the groups longest first (tests/distribution.py), before the worker's own hook reads
    the groups; after it, refuse to run if it did not take them (the tests of a module may
    depend on their order and on one module-scoped lab)."""
    grouping = bool(getattr(config.option, "loadgroup", False))  # xdist sets it on workers
    if grouping:
        group_items(items, _wide_fixtures)
    yield
    if grouping and items and not items[0].nodeid.endswith(
            "@" + group_of_item(items[0])):
        raise pytest.UsageError(
            "pytest-xdist ignored the work groups (--dist loadgroup): the installed pytest and "
            "pytest-xdist do not work together (pytest-dev/pytest-xdist#1386); pyproject.toml "
            "pins pytest below 9.2 for it")


def _left() -> list[str]:
    """What this session left: residue new since it started and not another live session's.
    Seen twice, a second apart, with the other sessions read again: a lab another session
    (a pytest-xdist worker beside this one) was bringing up or taking down at the first look
    is not this session's."""
    def look() -> set[str]:
        bases, labs, prefixes = _others()
        sockets = live_shim_sockets() if IS_ROOT else set()
        return set(left_by_session(_residue(), _BEFORE,
                                   lambda r: foreign(r, bases, labs, sockets, prefixes)))

    first = look()
    if not first:
        return []
    time.sleep(1)
    return sorted(first & look())


_WORKERS_LEFT: list[str] = []  # what the pytest-xdist workers' sessions left (the controller)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    for path in _RECORDING:
        write_durations(_DURATIONS, path)
    left = _left()
    if not left:
        # The session's state base: every lab in it is down; what is left is bookkeeping.
        shutil.rmtree(_STATE_BASE, ignore_errors=True)
        if _CLAIM is not None:  # with residue left, the claim stays: the next run reaps it
            from nodelab.lab.claims import release

            release(_CLAIM)
    if worker_output is not None:
        # a pytest-xdist worker: its exit status is not the run's, the controller reports
        worker_output["security_figure"] = FIGURE.as_dict()
        worker_output["residue"] = left
        return
    left = sorted({*left, *_WORKERS_LEFT})
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "lab residue left by the test session:\n  " + "\n  ".join(left)
        if reporter is not None:
            reporter.write_sep("=", "RESIDUE CHECK FAILED", red=True)
            reporter.write_line(text)
        else:
            print(text)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """A pytest-xdist worker ended: add its security figure and its residue to the
    controller's."""
    output = getattr(node, "workeroutput", {})
    if output.get("security_figure"):
        FIGURE.merge(output["security_figure"])
    _WORKERS_LEFT.extend(output.get("residue", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURE.tried:
        terminalreporter.write_sep("=", "security figure")
        for line in FIGURE.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def state_base() -> Path:
    return _STATE_BASE


def unique_lab_name() -> str:
    return "t" + secrets.token_hex(3)[:5]


@contextmanager
def one_node_lab(**settings: Any) -> Iterator[Lab]:
    """A uniquely named one-node lab (skipped without root), taken down however the block ends:
    what a module-scoped lab fixture yields. `settings` go to `Lab.up`."""
    if not IS_ROOT:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        yield Lab.up(name, 1, progress=lambda _message: None, **settings)
    finally:
        take_down_lab(name)


LabFactory = Callable[..., Lab]


@pytest.fixture
def make_lab() -> Iterator[LabFactory]:
    """Bring up uniquely named labs; every one is taken down when the test ends."""
    names: list[str] = []

    def make(nodes: int = 1, name: str | None = None) -> Lab:
        name = name or unique_lab_name()
        names.append(name)
        return Lab.up(name, nodes, progress=lambda _message: None)

    try:
        yield make
    finally:
        for name in names:
            take_down_lab(name)


@pytest.fixture
def lab(make_lab: LabFactory) -> Lab:
    """A one-node lab, taken down after the test."""
    return make_lab()
