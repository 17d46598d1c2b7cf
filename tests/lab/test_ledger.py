"""The ledger keeps every entry readable, also after a torn write."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.lab.ledger import Entry, Ledger

pytestmark = pytest.mark.unit


def test_an_entry_after_a_torn_line_stays_readable(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record(Entry("netns", "nla-node1"))
    with open(ledger.path, "a") as out:
        out.write('{"kind": "link", "na')  # a crash in the middle of a write
    ledger.record(Entry("link", "nla-br"))
    assert ledger.entries() == [Entry("netns", "nla-node1"), Entry("link", "nla-br")]


def test_recording_twice_writes_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record(Entry("daemon", "registry"))
    ledger.record(Entry("daemon", "registry"))
    assert len(ledger.path.read_text().splitlines()) == 1
