"""The package as users install it: ``python -m build`` makes an sdist and a wheel that
``twine check`` accepts, the wheel holds the package and its default tables and nothing from
the development tree, and a fresh venv with the wheel alone (the light core, no torch) runs the
README's researcher quickstart."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (REPO / "frozenbench" / "data").iterdir() if p.is_dir())


def run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
                          timeout=600)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def quickstart_code() -> str:
    """The first Python block under the README's 'Quickstart: HPO researcher' heading."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quickstart: HPO researcher", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the researcher quickstart has no python block"
    return match.group(1)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out)
    # the project's own metadata raises no warning (license, classifiers, package data)
    assert not re.search(r"(?i)deprecat|SetuptoolsWarning", proc.stdout + proc.stderr)
    return out


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check(dist):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    proc = run(sys.executable, "-m", "twine", "check", "--strict", *files, cwd=dist)
    assert proc.stdout.count("PASSED") == 2


@pytest.mark.slow
def test_the_wheel_holds_the_package_and_default_tables_only(dist):
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"frozenbench", f"{wheel.name.split('-py3')[0]}.dist-info"}, top
    for name in SHIPPED:
        assert f"frozenbench/data/{name}/manifest.json" in names
        assert f"frozenbench/data/{name}/table.parquet" in names
    assert "frozenbench/py.typed" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tmp"))]


@pytest.mark.slow
def test_a_fresh_venv_with_the_wheel_runs_the_researcher_quickstart(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    py = venv / "bin" / "python"
    proc = run(py, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    assert "frozenbench" not in proc.stderr.lower().replace(str(wheel).lower(), "")
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart_code() + (
        "\nimport sys\n"
        "assert 'torch' not in sys.modules, 'the light core imported torch'\n"
        "assert len(traj) > 0\n"
        # the statistics of suite and report, with the pandas a user gets (the dev extra pins
        # pandas < 3 through NePS; pandas 3 copies on write and hands out read-only arrays)
        "import pandas as pd\n"
        "from frozenbench.analysis.stats import rank_test\n"
        "t = rank_test(pd.DataFrame({'a': [0.1, 0.2, 0.3], 'b': [0.2, 0.3, 0.1],\n"
        "                            'c': [0.3, 0.1, 0.2]}))\n"
        "assert all(t.pairwise_p.loc[m, m] == 1.0 for m in 'abc')\n"
        "print('quickstart ok', fb.__file__, 'pandas', pd.__version__)\n"))
    proc = run(py, script, cwd=tmp_path)  # cwd outside the checkout: the wheel is imported
    assert "quickstart ok" in proc.stdout and str(venv) in proc.stdout
    proc = run(venv / "bin" / "frozenbench", "list", cwd=tmp_path)
    for name in SHIPPED:
        assert name in proc.stdout
