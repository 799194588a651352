"""The core must stay light: no torch, torchvision, transformers or submitit on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "transformers", "submitit", "matplotlib", "datasets")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        check=True, capture_output=True, text=True,
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "code",
    ["import frozenbench", "import frozenbench.cli; frozenbench.cli.build_parser()"],
)
def test_import_is_light(code):
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), f"{code!r} imported {sorted(loaded & set(HEAVY))}"


def test_missing_extra_names_the_pip_command():
    from frozenbench.errors import MissingExtraError
    from frozenbench.extras import require

    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[train\]'"):
        require("torch.this_module_does_not_exist")
    with pytest.raises(ImportError):  # also a built-in ImportError
        require("torch.this_module_does_not_exist")
