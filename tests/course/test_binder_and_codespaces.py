"""The Binder and Codespaces configurations are valid for this repository.

Neither can be built here (no Docker engine); these checks are what can be verified without one:
that each file is well-formed and that every command, script and package it names exists. A full
Binder build was simulated by hand as an ordinary user (see docs/course-guide.md).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
BINDER = REPO / "binder"
PYPROJECT = REPO / "pyproject.toml"

pytestmark = pytest.mark.unit


def _setup_verbs() -> set[str]:
    text = (REPO / "scripts" / "setup").read_text()
    return set(re.findall(r"^  ([a-z]+)\)$", text, flags=re.M))


def test_binder_post_build_is_an_executable_bash_script_that_installs_this_repo() -> None:
    post_build = BINDER / "postBuild"
    mode = subprocess.run(["git", "ls-files", "-s", str(post_build)], cwd=REPO,
                          capture_output=True, text=True).stdout.split()
    if mode:  # a checkout that is not a git work tree keeps only the file mode
        assert mode[0] == "100755", "binder/postBuild must be committed executable"
    text = post_build.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert re.search(r"^python -m pip install .*-e \.$", text, flags=re.M), \
        "postBuild runs from the repository root and installs it (pip install -e .)"
    subprocess.run(["bash", "-n", str(post_build)], check=True)


def test_binder_pins_a_python_this_package_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-3.X, not {runtime!r}"
    requires = re.search(r'^requires-python = ">=3\.(\d+)"$', PYPROJECT.read_text(), flags=re.M)
    assert requires, "pyproject.toml states requires-python as >=3.X"
    assert int(match.group(1)) >= int(requires.group(1))


def test_binder_apt_packages_are_names_apt_knows() -> None:
    lines = (BINDER / "apt.txt").read_text().splitlines()
    names = [name for line in lines if (name := line.partition("#")[0].strip())]
    assert names and all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", n) for n in names)
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache is not installed: the package names were not looked up")
    # one look-up for all of them (each apt-cache start loads the whole cache: ~1 s apiece)
    shown = subprocess.run(["apt-cache", "show", "--no-all-versions", *names],
                           capture_output=True, text=True).stdout
    known = set(re.findall(r"^Package: (\S+)$", shown, flags=re.M))
    unknown = [n for n in names if n not in known]
    assert unknown == [], f"apt does not know {unknown}"


def test_binder_requirements_parse() -> None:
    from packaging.requirements import Requirement

    for line in (BINDER / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            Requirement(line)


def test_devcontainer_gives_a_privileged_lab_and_kind() -> None:
    config = json.loads((REPO / ".devcontainer" / "devcontainer.json").read_text())
    assert {"--privileged", "--cgroupns=host"} <= set(config["runArgs"])
    features = config["features"]
    assert any(f.startswith("ghcr.io/devcontainers/features/docker-in-docker:") for f in features)
    assert any("/kind:" in f for f in features), "the kind cluster needs the kind feature"
    assert config["remoteUser"] == "root", "scripts/setup installs apt packages and runs labs"
    create = config["postCreateCommand"].split()
    assert create[:2] == ["bash", "scripts/setup"] and create[2] in _setup_verbs()
    assert (REPO / create[1]).is_file()
    start = config["postStartCommand"].split()
    assert start[0] == ".venv/bin/nodelab", "setup's .venv provides the nodelab command"
    assert re.search(r'^nodelab = "nodelab\.cli:main"$', PYPROJECT.read_text(), flags=re.M)
