"""Skipping what needs root, with the reason."""

from __future__ import annotations

import os

import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mknod, overlayfs, namespaces, runc)")
