"""``frozenbench report``: one self-contained page, rendered in a real headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from frozenbench import plot
from frozenbench.cli import main
from frozenbench.synthetic import write_benchmark

# Appended to a copy of the page: once everything loaded, write how many images decoded.
PROBE = ("<script>window.addEventListener('load', () => { const imgs = [...document.images];"
         " const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
         " const p = document.createElement('pre'); p.id = 'fb-image-check';"
         " p.textContent = ok + '/' + imgs.length; document.body.appendChild(p); });</script>")


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:  # the test setup installs it (scripts/install_test_deps.sh); fail, not skip
        pytest.fail("chromium is not installed: run `sudo scripts/install_test_deps.sh`")
    return exe


def _run(args: list[str], timeout: float = 300) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--hide-scrollbars"]
    done = subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True,
                          timeout=timeout, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    """Every figure the report saves, by file name: how far it reaches past its canvas."""
    return {}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, figures: dict[str, dict[str, float]]
         ) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    d = write_benchmark(tmp / "b", n_configs=24, n_z=4, n_epochs=6, diverge_frac=0.0)
    save = plot.save_figure

    def checked(fig, path):  # record each figure's overflow once it is laid out and saved
        saved = save(fig, path)
        figures[Path(path).name] = plot.overflow(fig)
        return saved

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plot, "save_figure", checked)
        assert main(["report", str(d), "--out", str(tmp / "page"), "--runs", "2", "--budget",
                     "20", "--bootstrap", "50"]) == 0
    return tmp / "page" / "report.html"  # --out is a directory, as in every command


def test_no_figure_of_the_report_is_clipped(page: Path, figures: dict[str, dict[str, float]]):
    assert sorted(figures) == ["correlations.png", "costs.png", "diagonal.png", "heatmap.png",
                               "ranks.png", "regret.png"]
    clipped = {name: past for name, past in figures.items() if past}
    assert not clipped, f"figures reaching past their canvas (inches): {clipped}"


def test_overflow_sees_a_clipped_label():
    fig, ax = plot._pyplot().subplots(figsize=(3, 2))
    ax.set_ylabel("a y label far longer than the two inches of the figure, cut at both ends")
    fig.tight_layout()
    assert {"top", "bottom"} <= set(plot.overflow(fig))


def test_report_axes_are_labelled_with_units(page: Path):
    text = page.read_text()
    assert "multiples of the median full-fidelity cost" in text
    assert "regret on val_error, mean [95% CI]" in text  # says which metric

def test_page_is_self_contained(page: Path):
    text = page.read_text()
    for section in ("The table", "Cost per z", "Rank correlation", "seed-noise ceiling",
                    "beside the paper", "HPO comparison", "0.852"):
        assert section in text, section
    assert text.count("<img") == 6 and text.count('src="data:image/png;base64,') == 6
    assert "http://" not in text and "https://" not in text  # nothing fetched from elsewhere


def test_page_renders_in_chromium(page: Path, tmp_path: Path):
    from PIL import Image

    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = _run(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()])
    assert '<pre id="fb-image-check">6/6</pre>' in dom, dom[-300:]
    shot = tmp_path / "shot.png"
    _run(["--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()])
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2400, 1200)
    assert pixels.std() > 20  # not blank: text, tables and plots
    assert (pixels < 128).mean() > 0.01  # a real share of dark pixels (text, lines)
