"""Shared fixtures. Generation pipeline: grid-spec files and the local SLURM cluster."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Cells trained by the tests come from this working tree, which may have uncommitted changes;
# a fixed clean version keeps the merge's one-committed-version rule out of their way (the
# rule itself is tested with explicit versions).
os.environ.setdefault("FROZENBENCH_CODE_VERSION", "tests000000")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """Top-level keys, then one [table] per nested mapping (enough for grid specs)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a grid spec to ``tmp_path/NAME.toml``; ``output`` defaults to ``tmp_path/out``."""

    def write(name: str = "spec", **data: Any) -> Path:
        data.setdefault("output", str(tmp_path / "out"))
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(data))
        return path

    return write


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """The local SLURM cluster (scripts/slurm_local.sh start: idempotent, ~1 s when running).

    Fails, with the daemons' logs, when it cannot start: a broken cluster must not turn the
    SLURM tests into silent skips.
    """
    proc = subprocess.run(["bash", str(REPO / "scripts" / "slurm_local.sh"), "start"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"local SLURM did not start (exit {proc.returncode}):\n{proc.stdout}\n"
                    f"{proc.stderr}", pytrace=False)
    return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "ready"
