"""The arguments every subcommand shares, parsed one way everywhere.

- ``BENCHMARK``: the first positional argument: a shipped name, a path (``./dir``) or a Hub
  reference (``hub:namespace/name@revision``); see :func:`frozenbench.registry.resolve`.
- A config: ``NAME=VALUE`` pairs, ``--config JSON`` or ``--config-id N`` (exactly one).
- ``--seed S``: the training seed of a cell, as in the table's ``seed`` column. Where a table
  is read and no seed is given, the mean over the seeds the table has (query) or one seed drawn
  per trial (simulate); where a cell is trained (run-cell, verify) it is required.
- ``--out DIR``: always a directory; each command names the files it writes into it
  (``report --out DIR`` writes ``DIR/report.html``). An ``--out`` that is a file, or whose
  name looks like one of the files the command writes (``--out report.html``), is refused.
- Other randomness has its own name: ``--bootstrap-seed S`` (correlate's resampling),
  ``--sample-seed`` (verify's choice of cells); a simulator run ``r`` uses seed ``r``. The
  bootstrap count is ``--bootstrap N`` wherever there is one (correlate, suite, report).
- ``--json``: one JSON object on stdout instead of text (:mod:`frozenbench.cli.json_output`).
- A renamed option fails with argparse's usage error naming its new spelling
  (:func:`add_renamed`), never silently.

Problems are collected and raised together (:func:`raise_problems`), before any work starts.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from frozenbench.errors import InvalidValueError
from frozenbench.space import SearchSpace

BENCHMARK_HELP = "benchmark: a shipped name, a path (./dir) or hub:namespace/name@revision"


def add_benchmark(parser: argparse.ArgumentParser, help: str = BENCHMARK_HELP) -> None:
    """The benchmark, the first positional argument."""
    parser.add_argument("benchmark", metavar="BENCHMARK", help=help)


def add_config(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """A config as ``NAME=VALUE`` pairs, ``--config JSON`` or ``--config-id N``."""
    parser.add_argument("pairs", nargs="*", metavar="NAME=VALUE",
                        help="hyperparameter values (all of them); or --config / --config-id")
    parser.add_argument("--config", default=None, metavar="JSON",
                        help='the config as JSON, e.g. \'{"lr": 0.001, ...}\'')
    parser.add_argument("--config-id", type=int, default=None, metavar="N",
                        help="the config's grid index")
    parser.set_defaults(_config_required=required)


def add_seed(parser: argparse.ArgumentParser, *, required: bool = False,
             help: str = "training seed of the cell") -> None:
    """``--seed S``, one meaning everywhere (see the module docstring)."""
    parser.add_argument("--seed", type=seed_value, default=None, required=required,
                        help=help, metavar="S")


def add_out(parser: argparse.ArgumentParser, writes: Sequence[str], *, default: str | None = None,
            extra: str = "") -> None:
    """``--out DIR``, a directory; ``writes`` names the files the command writes into it (the
    help lists them and :func:`out_problem` refuses an ``--out`` that looks like one)."""
    where = f" (default: {default})" if default else ""
    parser.add_argument("--out", default=default, metavar="DIR",
                        help=f"directory{where} to write {', '.join(writes)} into{extra}")


def out_problem(out: str | os.PathLike[str], writes: Sequence[str] = ()) -> str | None:
    """Why ``--out`` cannot be a directory to write into (None: it can): it is a file, lies
    under a file, is not writable, or is named like one of the files ``writes`` (``--out
    report.html`` for the report, which writes ``DIR/report.html``).

    >>> print(out_problem("x/report.html", ["report.html"]))
    --out x/report.html names a file; --out is a directory (report.html is ...), e.g. --out x
    >>> out_problem("x/new") is None
    True
    """
    path = Path(out)
    suffixes = {Path(w).suffix for w in writes if Path(w).suffix}
    if path.suffix in suffixes and not path.is_dir():
        return (f"--out {path} names a file; --out is a directory ({', '.join(writes)} "
                f"{'is' if len(writes) == 1 else 'are'} written into it), e.g. --out "
                f"{path.parent}")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == path else f"is under {probe}, which is a file"
        return f"--out {path}: {what}; give a directory (new or existing)"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"--out {path}: {probe} is not writable"
    return None


def add_bootstrap(parser: argparse.ArgumentParser, *, seed: bool = True,
                  what: str = "over configs") -> None:
    """``--bootstrap N`` (resamples of every 95% interval, >= 10) and, with ``seed``,
    ``--bootstrap-seed S`` (its randomness: never ``--seed``, a cell's training seed)."""
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help=f"bootstrap resamples {what} for the 95%% intervals (>= 10, "
                             "default 1000)")
    if seed:
        parser.add_argument("--bootstrap-seed", type=int, default=0, metavar="S",
                            help="seed of the bootstrap resampling (default 0)")


def bootstrap_problem(n: int) -> str | None:
    """Why ``--bootstrap N`` is unusable (None: it is usable).

    >>> bootstrap_problem(5)
    '--bootstrap 5 must be >= 10'
    """
    return f"--bootstrap {n} must be >= 10" if n < 10 else None


class _Renamed(argparse.Action):
    """An old option's spelling: using it is a usage error that names the new one."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str, why: str = "",
                 **kwargs: Any) -> None:
        self.new, self.why = new, why
        super().__init__(option_strings, dest, nargs="?", default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> NoReturn:
        why = f" ({self.why})" if self.why else ""
        parser.error(f"{option_string} is now {self.new}{why}")


def add_renamed(parser: argparse.ArgumentParser, old: str, new: str, why: str = "") -> None:
    """Make ``old`` a usage error (exit status 2) that names ``new``, its spelling now."""
    parser.add_argument(old, action=_Renamed, new=new, why=why, dest=f"_renamed_{old}")


def is_renamed(action: argparse.Action) -> bool:
    """Whether ``action`` is an old spelling added by :func:`add_renamed`."""
    return isinstance(action, _Renamed)


def seed_value(text: str) -> int:
    """A training seed from the command line: an integer the table's ``seed`` column holds
    and a training run accepts (``0..2**31-1``); argparse reports anything else.

    >>> seed_value("7")
    7
    >>> seed_value("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: seed=-1 is not a training seed (seeds in 0..2147483647)
    """
    from frozenbench.schema import key_range  # pyarrow: not at import, --help stays fast

    hi = key_range("seed")[1]
    try:
        seed = int(text)
    except ValueError:
        seed = None
    if seed is None or not 0 <= seed <= hi:
        raise argparse.ArgumentTypeError(f"seed={text[:40]} is not a training seed (seeds in "
                                         f"0..{hi})")
    return seed


def parse_pairs(pairs: Sequence[str], space: SearchSpace) -> dict[str, Any]:
    """``["lr=1e-3", "optimizer=adam"]`` -> ``{"lr": 0.001, "optimizer": "adam"}``, each value
    converted to the type of its hyperparameter's grid values; a name given twice is an error.

    >>> space = SearchSpace.from_dict({"lr": [0.001, 0.01], "optimizer": ["adam", "sgd"]})
    >>> parse_pairs(["lr=1e-3", "optimizer=adam"], space)
    {'lr': 0.001, 'optimizer': 'adam'}
    >>> parse_pairs(["lr=1e-3", "lr=0.01"], space)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: lr is given twice (lr=1e-3, lr=0.01)
    """
    config: dict[str, Any] = {}
    given: dict[str, str] = {}
    grid = space.to_dict()
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InvalidValueError(f"write hyperparameters as NAME=VALUE, got {pair!r}")
        if name in given:
            raise InvalidValueError(f"{name} is given twice ({given[name]}, {pair})")
        given[name] = pair
        values = grid.get(name)
        value: Any = text
        if values and not isinstance(values[0], str):
            if isinstance(values[0], bool):
                value = {"true": True, "false": False}.get(text.lower(), text)
            else:
                try:
                    value = float(text)
                except ValueError:
                    raise InvalidValueError(
                        f"{name}={text!r} is not a number; valid: {values}") from None
        config[name] = value
    return config


def config_of(args: argparse.Namespace, space: SearchSpace) -> dict[str, Any] | int | None:
    """The config the arguments name: a dict (pairs or JSON) or a grid index; None when none is
    given and none is required. Checked against ``space``."""
    given = [what for what, v in (("NAME=VALUE", args.pairs), ("--config", args.config),
                                  ("--config-id", args.config_id)) if v not in (None, [])]
    if len(given) > 1:
        raise InvalidValueError(f"name the config one way, got {' and '.join(given)}")
    if not given:
        if args._config_required:
            raise InvalidValueError(
                f"name a config: {' '.join(f'{n}=...' for n in space.names)}, --config JSON "
                f"or --config-id N")
        return None
    if args.config_id is not None:
        space.config(args.config_id)  # range check
        return int(args.config_id)
    if args.config is not None:
        try:
            config = json.loads(args.config)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(
                f"--config is not valid JSON ({exc}): {args.config!r}") from None
        if not isinstance(config, Mapping):
            raise InvalidValueError(f"--config must be a JSON object, got {args.config!r}")
        return dict(config)
    return parse_pairs(args.pairs, space)


def raise_problems(problems: Sequence[str], command: str = "this command") -> None:
    """Raise one error listing every problem found in the arguments of ``command`` (none:
    return), through the one helper that words it, :func:`frozenbench.errors.raise_problems`.

    >>> raise_problems(["--runs 0 must be positive", "--budget -1 must be positive"],
    ...                "frozenbench suite")
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: 2 problems with the arguments of frozenbench suite:
      - --runs 0 must be positive
      - --budget -1 must be positive
    """
    from frozenbench.errors import raise_problems as raise_all

    raise_all(command, problems)


def device_problem(device: str) -> str | None:
    """Why torch cannot train on ``device`` here (None: it can). Imports torch unless the
    device is ``cpu``.

    >>> device_problem("cpu") is None
    True
    """
    if device == "cpu":
        return None
    from frozenbench.extras import require

    torch = require("torch")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        return f"--device {device!r} is not a torch device ({exc}); e.g. cpu, cuda, cuda:0"
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            return f"--device {device}: no CUDA GPU is visible here; use --device cpu"
        if dev.index is not None and dev.index >= n:
            return f"--device {device}: this machine has {n} CUDA GPU(s): cuda:0..cuda:{n - 1}"
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: MPS is not available here; use --device cpu"
    elif dev.type not in ("cpu", "cuda", "mps"):
        return f"--device {device}: frozenbench trains on cpu, cuda or mps"
    return None


def positive(problems: list[str], flag: str, value: float | None, *,
             allow_zero: bool = False) -> None:
    """Append a problem unless ``value`` is None or positive (or zero with ``allow_zero``)."""
    if value is not None and not (value > 0 or (allow_zero and value == 0)):
        problems.append(f"{flag} {value:g} must be {'>= 0' if allow_zero else 'positive'}")
