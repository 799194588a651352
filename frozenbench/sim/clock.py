"""The simulated clock: a heap of events ordered by (time, counter).

The counter breaks ties in insertion order, so two jobs finishing at the same simulated time are
processed deterministically, and payloads never need to be comparable.
"""

from __future__ import annotations

import heapq
from typing import Any


class EventQueue:
    """Events in time order; ties in the order they were pushed.

    >>> q = EventQueue()
    >>> q.push(2.0, "b"); q.push(1.0, "a"); q.push(2.0, "c")
    >>> [q.pop()[1] for _ in range(len(q))]
    ['a', 'b', 'c']
    """

    __slots__ = ("_counter", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._counter = 0

    def push(self, time: float, payload: Any) -> None:
        heapq.heappush(self._heap, (time, self._counter, payload))
        self._counter += 1

    def pop(self) -> tuple[float, Any]:
        time, _, payload = heapq.heappop(self._heap)
        return time, payload

    def peek_time(self) -> float:
        return self._heap[0][0]

    def __len__(self) -> int:
        return len(self._heap)
