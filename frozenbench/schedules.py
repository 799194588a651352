"""z schedules: the z a cell trains at during each of its records.

A *fixed* schedule trains every record at one z (the table's ordinary cells). A *thaw* schedule
starts low and thaws layers at record boundaries, so z(e) is non-decreasing in the record
``e``: one run that climbs the z fidelity instead of ``n`` restarts (issue 25). The linear thaw
schedule of the suite is

    z(e) = 1 + floor((e - 1) * (n - 1) / (E - 1)),   e = 1..E

(z = 1 at the first record, n at the last; with one record, z = n). The name of a schedule is
what the table's ``schedule`` column and a cell's identity carry; its ``z`` tuple is what the
runner follows. This module is torch-free: generation plans with it.

>>> ZSchedule.thaw_linear(6, 9).z
(1, 1, 2, 2, 3, 4, 4, 5, 6)
>>> ZSchedule.fixed(3, 4)
ZSchedule(name='fixed', z=(3, 3, 3, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

from frozenbench.errors import InvalidValueError, raise_problems
from frozenbench.schema import SCHEDULES

__all__ = ["SCHEDULES", "ZSchedule"]


@dataclass(frozen=True)
class ZSchedule:
    """The z of every record of a cell: non-decreasing, each >= 1; a ``fixed`` one is constant.

    >>> ZSchedule("thaw", (2, 1))
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: z=(2, 1) must be non-decreasing (a thaw never freezes)
    """

    name: str
    z: tuple[int, ...]

    def __post_init__(self) -> None:
        problems = []
        if not self.name or not self.name.isalpha() or not self.name.islower():
            problems.append(f"name={self.name!r} must be lower-case letters (e.g. 'thaw')")
        if not self.z or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                             for v in self.z):
            problems.append(f"z={self.z!r} must be one integer >= 1 per record")
        elif any(b < a for a, b in zip(self.z, self.z[1:])):
            problems.append(f"z={self.z!r} must be non-decreasing (a thaw never freezes)")
        if self.name == "fixed" and len(set(self.z)) > 1:
            problems.append(f"z={self.z!r}: a fixed schedule has one z")
        raise_problems("ZSchedule", problems)

    @classmethod
    def fixed(cls, z: int, records: int) -> ZSchedule:
        """Every record at ``z``."""
        return cls("fixed", (z,) * records)

    @classmethod
    def thaw_linear(cls, n: int, records: int) -> ZSchedule:
        """The linear thaw schedule from z = 1 at the first record to z = n at the last.

        >>> ZSchedule.thaw_linear(3, 3).z, ZSchedule.thaw_linear(4, 1).z
        ((1, 2, 3), (4,))
        """
        if records < 1 or n < 1:
            raise InvalidValueError(f"thaw_linear(n={n}, records={records}): both must be >= 1")
        if records == 1:
            return cls("thaw", (n,))
        return cls("thaw", tuple(1 + (e - 1) * (n - 1) // (records - 1)
                                 for e in range(1, records + 1)))

    @classmethod
    def named(cls, name: str, n: int, records: int) -> ZSchedule:
        """The schedule called ``name`` (one of :data:`SCHEDULES` other than ``fixed``, which
        needs a z) for a model of ``n`` layers trained for ``records`` records.

        >>> ZSchedule.named("cosine", 4, 3)
        Traceback (most recent call last):
        ...
        frozenbench.errors.InvalidValueError: schedule='cosine'; valid: ['thaw']
        """
        if name != "thaw":
            raise InvalidValueError(f"schedule={name!r}; valid: ['thaw']")
        return cls.thaw_linear(n, records)

    @property
    def final(self) -> int:
        """The z of the last record (the cell's ``z`` in its identity)."""
        return self.z[-1]
