"""Fidelity paths: the sequence of (z, epoch) levels a multi-fidelity optimizer climbs.

- ``"epoch"``: all layers trained (largest z), epochs spaced geometrically by ``eta``;
- ``"z"``: every level trains to the last epoch, z spaced geometrically;
- ``"z+epoch-geometric"``: a diagonal through the 2-D grid with levels spaced geometrically
  in ``eta``: level k scales z and the epoch by the same fraction ``eta**-(K-1-k)`` of their
  maxima (few levels, suited to successive halving's eta);
- ``"z+epoch-linear"``: the paper's linear diagonal (its GPT-14M successive-halving table):
  one level per z in the table, z = k at k/n of the epochs (n = the largest z), so the share
  of layers trained equals the share of epochs;
- ``"z+epoch"``: deprecated alias of ``"z+epoch-geometric"`` (its old name, which wrongly
  suggested the paper's diagonal); still accepted;
- ``"full"``: one level, (largest z, last epoch): plain full-fidelity evaluation;
- a list of ``(z, epoch)`` pairs: a path of your own (non-decreasing in z and in epoch);
- ``"thaw"`` (a *schedule path*, :data:`SCHEDULE_PATHS`; any schedule with rows in the table):
  one run that follows the table's thaw schedule, z growing with the epoch; the levels are
  epochs of that run spaced geometrically by ``eta`` like the epoch path's, each at the z the
  schedule trains then, and a promotion continues the run (:func:`path_levels`, which reads
  the schedule from the table; :func:`fidelity_levels` knows only the fixed-z paths).

The last level of every built-in path is full fidelity (the thaw schedule's last epoch trains
every layer: z = n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from frozenbench.errors import InvalidValueError, format_choices
from frozenbench.schema import FIXED, SCHEDULES
from frozenbench.space import Fidelities

if TYPE_CHECKING:
    from frozenbench.table.protocol import Table

FIDELITIES = ("epoch", "z", "z+epoch-geometric", "z+epoch-linear", "z+epoch", "full")
#: Old names still accepted, and the name each now stands for.
FIDELITY_ALIASES: dict[str, str] = {"z+epoch": "z+epoch-geometric"}

Level = tuple[int, int]

#: The schedule paths: schedules a table may hold rows of, each a fidelity path that continues
#: one run along it (:func:`path_levels`).
SCHEDULE_PATHS = tuple(s for s in SCHEDULES if s != FIXED)


#: The most steps ``max, max/eta, max/eta^2, ...`` a geometric path may take down to the
#: smallest value: an ``eta`` just above 1 would take millions (a replay that never starts).
MAX_GEOMETRIC_STEPS = 1000


def min_eta(values: Sequence[int]) -> float:
    """The smallest ``eta`` whose geometric path over ``values`` takes at most
    :data:`MAX_GEOMETRIC_STEPS` steps.

    >>> round(min_eta(range(1, 21)), 5)
    1.003
    """
    lo, hi = min(values), max(values)
    return float((hi / lo) ** (1.0 / MAX_GEOMETRIC_STEPS))


def check_eta(eta: object, fidelities: Fidelities) -> float:
    """``eta`` as a float: a number > 1, and far enough above 1 that the geometric levels
    over the table's z values and epochs take at most :data:`MAX_GEOMETRIC_STEPS` steps.

    >>> check_eta(1 + 1e-7, Fidelities(z=(1, 2), epoch=tuple(range(1, 21))))
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: eta=1.0000001 is too close to 1: ...
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 1:
        raise InvalidValueError(f"eta={eta!r} must be a number > 1")
    lowest = max(min_eta(fidelities.z), min_eta(fidelities.epoch))
    span = max(math.log(max(v) / min(v)) for v in (fidelities.z, fidelities.epoch))
    if span / math.log(eta) > MAX_GEOMETRIC_STEPS:
        raise InvalidValueError(
            f"eta={eta!r} is too close to 1: the geometric fidelity levels would take more "
            f"than {MAX_GEOMETRIC_STEPS} steps from the largest z and epoch down to the "
            f"smallest; valid: eta >= {math.ceil(lowest * 1e6) / 1e6} for this table "
            f"(the usual values are 2 to 4)")
    return float(eta)


def _geometric(values: Sequence[int], eta: float) -> list[int]:
    """Grid values nearest to max, max/eta, max/eta^2, ... down to the smallest value
    (``eta`` checked by :func:`check_eta`: at most :data:`MAX_GEOMETRIC_STEPS` steps)."""
    vals = sorted(values)
    lo, hi = vals[0], vals[-1]
    out: list[int] = []
    target = float(hi)
    steps = 0
    while target >= lo - 1e-9 and steps <= MAX_GEOMETRIC_STEPS:
        steps += 1
        nearest = min(vals, key=lambda v: (abs(v - target), v))
        if nearest not in out:
            out.append(nearest)
        target /= eta
    return sorted(out)


def _snap(values: Sequence[int], target: float) -> int:
    return min(sorted(values), key=lambda v: (abs(v - target), v))


def linear_diagonal(fidelities: Fidelities) -> list[Level]:
    """The paper's linear diagonal: for every z in the table, the epoch nearest to
    ``z / n`` of the last epoch (``n`` = the largest z); lowest first.

    >>> linear_diagonal(Fidelities(z=(1, 2, 3, 4), epoch=(1, 2, 3, 4, 5, 6, 7, 8)))
    [(1, 2), (2, 4), (3, 6), (4, 8)]
    """
    zs, es = sorted(fidelities.z), sorted(fidelities.epoch)
    n, e_max = zs[-1], es[-1]
    levels: list[Level] = []
    for z in zs:
        epoch = max(_snap(es, z / n * e_max), levels[-1][1] if levels else es[0])
        levels.append((z, epoch))
    return levels


def fidelity_levels(fidelities: Fidelities, fidelity: Any, eta: float = 3.0) -> list[Level]:
    """The (z, epoch) levels of a fidelity path, lowest first.

    >>> f = Fidelities(z=tuple(range(1, 12)), epoch=tuple(range(1, 21)))
    >>> fidelity_levels(f, "epoch")
    [(11, 2), (11, 7), (11, 20)]
    >>> fidelity_levels(f, "z")
    [(1, 20), (4, 20), (11, 20)]
    >>> fidelity_levels(f, "z+epoch-geometric")
    [(1, 2), (4, 7), (11, 20)]
    >>> fidelity_levels(f, "z+epoch") == fidelity_levels(f, "z+epoch-geometric")  # old name
    True
    >>> fidelity_levels(Fidelities(z=tuple(range(1, 7)), epoch=tuple(range(1, 7))),
    ...                 "z+epoch-linear")
    [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)]
    >>> fidelity_levels(f, "z+epoch-linear")[:3]  # z = k at k/11 of 20 epochs
    [(1, 2), (2, 4), (3, 5)]
    >>> fidelity_levels(f, [(2, 5), (11, 20)])
    [(2, 5), (11, 20)]
    """
    eta = check_eta(eta, fidelities)
    zs, es = list(fidelities.z), list(fidelities.epoch)
    z_max, e_max = max(zs), max(es)
    if isinstance(fidelity, str):
        fidelity = FIDELITY_ALIASES.get(fidelity, fidelity)
        if fidelity == "full":
            return [(z_max, e_max)]
        if fidelity == "epoch":
            return [(z_max, e) for e in _geometric(es, eta)]
        if fidelity == "z":
            return [(z, e_max) for z in _geometric(zs, eta)]
        if fidelity == "z+epoch-linear":
            return linear_diagonal(fidelities)
        if fidelity == "z+epoch-geometric":
            k = min(len(_geometric(zs, eta)), len(_geometric(es, eta)))
            levels: list[Level] = []
            for i in range(k):
                frac = eta ** -(k - 1 - i)
                level = (_snap(zs, frac * z_max), _snap(es, frac * e_max))
                if level not in levels:
                    levels.append(level)
            return levels
        if fidelity in SCHEDULE_PATHS:
            raise InvalidValueError(
                f"fidelity={fidelity!r} follows a schedule stored in a table: its levels are "
                f"read from the table's {fidelity} rows (path_levels(table, {fidelity!r}))")
        raise InvalidValueError(
            f"fidelity={fidelity!r} is not known; valid: "
            f"{format_choices([*FIDELITIES, *SCHEDULE_PATHS])} or a list of (z, epoch) pairs")
    if not isinstance(fidelity, (list, tuple)) or not fidelity:
        raise InvalidValueError(
            f"fidelity must be one of {list(FIDELITIES)} or a non-empty list of (z, epoch) "
            f"pairs, got {fidelity!r:.80}")
    path: list[Level] = []
    for item in fidelity:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise InvalidValueError(f"a fidelity path holds (z, epoch) pairs, got {item!r:.80}")
        level = (fidelities.check_z(item[0]), fidelities.check_epoch(item[1]))
        if path and (level[0] < path[-1][0] or level[1] < path[-1][1] or level == path[-1]):
            raise InvalidValueError(
                f"a fidelity path must rise: {level} after {path[-1]} (z and epoch may not "
                f"decrease, and consecutive levels must differ)")
        path.append(level)
    return path


def max_rungs(n_configs: int, eta: float) -> int:
    """The most rungs successive halving can fill from ``n_configs`` configs: ``1 +
    floor(log_eta(n_configs))`` (the top rung needs ``eta ** (rungs - 1)`` first-rung results).

    >>> max_rungs(144, 3.0), max_rungs(36, 3.0), max_rungs(1, 3.0)
    (5, 4, 1)
    """
    return 1 + math.floor(math.log(max(n_configs, 1)) / math.log(eta) + 1e-9)


def cap_levels(levels: Sequence[Level], n_configs: int, eta: float) -> list[Level]:
    """``levels`` thinned to at most :func:`max_rungs` of them, evenly spaced along the path
    and always keeping the lowest and the full-fidelity level, so a promotion optimizer can
    fill its top rung (one rung per z on a 10-layer model would need 3^9 first-rung results).

    >>> path = [(z, z) for z in range(1, 11)]
    >>> cap_levels(path, 144, 3.0)
    [(1, 1), (3, 3), (5, 5), (8, 8), (10, 10)]
    >>> cap_levels(path[:3], 144, 3.0) == path[:3]  # short enough already
    True
    """
    k = max_rungs(n_configs, eta)
    if len(levels) <= k:
        return list(levels)
    if k == 1:
        return [levels[-1]]
    picks = sorted({round(i * (len(levels) - 1) / (k - 1)) for i in range(k)})
    return [levels[i] for i in picks]


def path_schedule(fidelity: object) -> str:
    """The schedule a fidelity path's jobs follow: its name for a schedule path, else
    ``"fixed"`` (every other path trains each run at one z).

    >>> path_schedule("thaw"), path_schedule("z"), path_schedule([(1, 2)])
    ('thaw', 'fixed', 'fixed')
    """
    return fidelity if isinstance(fidelity, str) and fidelity in SCHEDULE_PATHS else FIXED


def schedule_levels(z: Sequence[int], epochs: Sequence[int], eta: float) -> list[Level]:
    """The levels of a schedule path: the epochs ``max, max/eta, ...`` (the epoch path's
    spacing) among those the schedule has rows at (``z[k] >= 1`` for ``epochs[k]``), each with
    the z the schedule trains then; lowest first, the last epoch last.

    >>> schedule_levels([1, 1, 2, 2, 3, 4, 4, 5, 6], range(1, 10), 3.0)
    [(1, 1), (2, 3), (6, 9)]
    """
    at = {int(e): int(v) for e, v in zip(epochs, z) if v >= 1}
    if not at:
        raise InvalidValueError("the schedule has no rows at any epoch of the table")
    return [(at[e], e) for e in _geometric(list(at), eta)]


def path_levels(table: Table, fidelity: Any, eta: float = 3.0) -> list[Level]:
    """The (z, epoch) levels of a fidelity path on ``table``, lowest first: a schedule path
    (:data:`SCHEDULE_PATHS`) is read from the table's rows of that schedule (an error naming
    the schedules it has where it has none), every other path is :func:`fidelity_levels`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=6, n_epochs=9, thaw_configs=6)
    >>> path_levels(bench, "thaw"), path_levels(bench, "epoch")
    ([(1, 1), (2, 3), (6, 9)], [(6, 1), (6, 3), (6, 9)])
    """
    schedule = path_schedule(fidelity)
    if schedule == FIXED:
        return fidelity_levels(table.fidelity_values, fidelity, eta)
    eta = check_eta(eta, table.fidelity_values)
    arrays = table.schedule_arrays(schedule)
    return schedule_levels(arrays.z.tolist(), table.fidelities["epoch"], eta)


def run_levels(table: Table, fidelity: Any, eta: float = 3.0) -> list[Level]:
    """Every epoch of one run that a freeze-thaw optimizer continues an epoch at a time,
    lowest first: the schedule's (z, epoch) at each epoch it has rows at for a schedule path,
    ``(largest z, epoch)`` for every epoch for ``"epoch"``; other paths are not one run (their
    levels restart at another z, or there is one level) (an error naming the paths that are).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=4, thaw_configs=2)
    >>> run_levels(bench, "thaw"), run_levels(bench, "epoch")
    ([(1, 1), (1, 2), (2, 3), (3, 4)], [(3, 1), (3, 2), (3, 3), (3, 4)])
    >>> run_levels(bench, "z")
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: fidelity='z' is not one run continued epoch by epoch \
(its levels restart at another z, or it has one level); valid: 'epoch' or a schedule path \
(['thaw'])
    """
    schedule = path_schedule(fidelity)
    check_eta(eta, table.fidelity_values)
    epochs = table.fidelities["epoch"]
    if schedule != FIXED:
        z = table.schedule_arrays(schedule).z.tolist()
        return [(int(v), int(e)) for e, v in zip(epochs, z) if v >= 1]
    if fidelity != "epoch":
        shown = fidelity if isinstance(fidelity, str) else "a list of levels"
        raise InvalidValueError(
            f"fidelity={shown!r} is not one run continued epoch by epoch (its levels restart "
            f"at another z, or it has one level); valid: 'epoch' or a schedule path "
            f"({list(SCHEDULE_PATHS)})")
    z_max = max(table.fidelities["z"])
    return [(z_max, int(e)) for e in epochs]
