"""Where a number came from: the CPU, the libraries, the code version (torch-free).

A CPU loss differs between machines that both call themselves "AMD EPYC" (AVX-512 vs AVX2
kernels round differently and training amplifies it), so a cell records the CPU model and the
instruction-set level torch dispatched to next to the library versions; the manifest of a
merged table lists the distinct values.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: Packages whose versions can change a cell's numbers.
PACKAGES = ("torch", "torchvision", "transformers", "numpy", "frozenbench")


def cpu_model() -> str:
    """The CPU model name (Linux ``/proc/cpuinfo``), else the platform's processor string.

    >>> isinstance(cpu_model(), str) and len(cpu_model()) > 0
    True
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: The training arithmetic of the cell runner, recorded with every cell as the version of
#: ``frozenbench-arithmetic``: bumped whenever a change to the runner can alter a cell's numbers
#: on the same machine (the order or kind of floating-point operations). ``verify`` holds a
#: re-run to bit-identity only when the table's cells ran the same arithmetic. "stacked-1": the
#: batched runner (configs stacked with vmap, single-rounding optimizer steps, a pad slot).
ARITHMETIC = "stacked-1"


def library_versions() -> dict[str, str]:
    """Versions of Python, of :data:`PACKAGES` ("not installed" where absent) and of the
    runner's :data:`ARITHMETIC`.

    >>> library_versions()["python"] == platform.python_version()
    True
    """
    out = {"python": platform.python_version(), "frozenbench-arithmetic": ARITHMETIC}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_version(root: str | Path | None = None) -> str:
    """``git describe`` of the checkout holding this package (or ``root``): the commit, with
    ``-dirty`` when tracked files differ from it; ``"unknown"`` outside a checkout.

    ``FROZENBENCH_CODE_VERSION`` in the environment takes precedence: for installs without a
    checkout (the value should name the release) and for tests that run from a working tree.
    """
    if os.environ.get("FROZENBENCH_CODE_VERSION"):
        return os.environ["FROZENBENCH_CODE_VERSION"]
    cwd = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                             cwd=cwd, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def is_clean(version: str) -> bool:
    """Whether a code version names a committed tree (not dirty, not unknown).

    >>> is_clean("fb7dcbd"), is_clean("fb7dcbd-dirty"), is_clean("unknown")
    (True, False, False)
    """
    return version not in ("", "unknown") and not version.endswith("-dirty")
