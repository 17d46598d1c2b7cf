"""The last `size` lines, and which of them a rule's pattern matches (log_buffer.go).

A rule is matched against the buffered lines joined by newlines, anchored at the end: a
one-line pattern matches only the line just pushed; a multi-line pattern (upstream's older
OOM rule, `Kill process ...\\nKilled process ...`) matches it together with the lines before.
`match` returns the lines the match covers, oldest first (the event's message joins them).
"""

from __future__ import annotations

import re
from collections import deque


class LogBuffer:
    def __init__(self, size: int) -> None:
        self.lines: deque[str] = deque(maxlen=size)

    def push(self, line: str) -> None:
        self.lines.append(line)

    def match(self, pattern: re.Pattern[str]) -> list[str]:
        joined = "\n".join(self.lines)
        found = pattern.search(joined)
        if found is None:
            return []
        covered = len(joined) - found.start()  # characters from the match to the end
        matched: list[str] = []
        total = 0
        for line in reversed(self.lines):
            matched.append(line)
            total += len(line) + 1
            if total >= covered:
                break
        matched.reverse()
        return matched
