"""One self-contained HTML page about a table: what it is, what each z costs, how well each
fidelity ranks configs, the paper's numbers beside the table's, and an HPO comparison.

Plots are PNGs embedded as base64, so the page is a single file that opens anywhere. Needs the
``plot`` extra (matplotlib).

>>> from frozenbench.synthetic import make_benchmark
>>> import tempfile, pathlib
>>> bench = make_benchmark(n_configs=20, n_z=3, n_epochs=4, diverge_frac=0.0)
>>> with tempfile.TemporaryDirectory() as d:
...     page = write_report(bench, pathlib.Path(d) / "r.html", runs=2, n_boot=50,
...                         budget_units=3)
...     text = page.read_text()
>>> text.count("<img"), "data:image/png;base64," in text
(6, True)
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from frozenbench.atomic import write_text_atomic
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS
from frozenbench.table import Benchmark

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.8em 0; }
.note { color: #555; font-size: 0.9em; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    return frame.to_html(index=False, border=0, float_format=floatfmt.format, na_rep="n/a",
                         escape=True)


def _description(bench: Benchmark) -> str:
    m = bench.manifest
    f = bench.fidelities
    grid = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(str(v))}</li>"
                   for k, v in m.space.to_dict().items())
    return (f"<p>Task <code>{html.escape(str(m.task))}</code>; metric "
            f"<code>{html.escape(bench.metric)}</code> (lower is better); {len(bench)} configs "
            f"of a grid of {len(bench.space)}; z in {f['z'][0]}..{f['z'][-1]} (n = "
            f"{f['z'][-1]} layers), epochs {f['epoch'][0]}..{f['epoch'][-1]}; seeds "
            f"{list(bench.seeds)}; {m.rows} rows; schema version {m.schema_version}; default "
            f"cost <code>{bench.default_cost}</code>.</p><p>Search space:</p><ul>{grid}</ul>")


def _final_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The regret table of the report: one row per budget and method, the interval in one
    column."""
    return pd.DataFrame({
        "budget (x median full cost)": summary["budget"].map("{:g}".format),
        "optimizer:fidelity": summary["label"],
        "runs with incumbent": [f"{a}/{b}" for a, b in zip(summary["with_incumbent"],
                                                           summary["runs"], strict=True)],
        f"regret on {summary['regret_metric'].iloc[0]}, mean [95% CI]": [
            f"{m:.4f} [{lo:.4f}, {hi:.4f}]" for m, lo, hi in
            zip(summary["final_regret_mean"], summary["final_regret_low"],
                summary["final_regret_high"], strict=True)],
        "median": summary["final_regret_median"],
    })


def write_report(bench: Benchmark, path: str | os.PathLike[str], *, runs: int = 10,
                 n_boot: int = 1000, budget_units: float = DEFAULT_BUDGET_UNITS,
                 n_workers: int = 4, methods: dict[str, Any] | None = None) -> Path:
    """Write the report of ``bench`` to ``path`` (an ``.html`` file) and return the path.

    ``runs`` replay seeds per method (``methods``: ``{label: method}``, default
    :data:`~frozenbench.analysis.hpo.DEFAULT_METHODS`) and ``budget_units`` (median
    full-fidelity costs) for the HPO comparison; ``n_boot`` bootstrap resamples for every
    interval. The replays are checked (every problem at once) before any work starts."""
    from frozenbench import analysis as an
    from frozenbench import plot
    from frozenbench.analysis.hpo import replay, replay_requests
    from frozenbench.errors import raise_problems
    from frozenbench.sim.request import requests_problems

    requests, problems = replay_requests(methods, runs=runs, budget_units=budget_units,
                                         n_workers=n_workers)
    raise_problems("write_report", [*problems,
                                    *requests_problems(requests, bench)])

    grid = an.correlation_grid(bench, n_boot=n_boot)
    diag = an.diagonal_analysis(bench, n_boot=n_boot)
    profile = an.cost_profile(bench)
    formalism = an.verdicts(bench, grid)
    paper = an.format_comparison(an.paper_comparison(bench, grid, diag))
    cmp = replay(bench, requests)
    anytime = an.anytime_regret(cmp, n_boot=n_boot)
    final = _final_table(an.final_summary(cmp, n_boot=n_boot))
    ranks = an.average_ranks(an.final_regret(cmp), by="run", n_boot=n_boot)
    e_last = bench.fidelities["epoch"][-1]
    last = grid.frame[grid.frame["epoch"] == e_last]
    corr_table = last.pivot(index="z", columns="variant", values=["spearman", "spearman_low",
                                                                 "spearman_high"])
    corr_rows = pd.DataFrame({
        "z": corr_table.index,
        **{f"Spearman, {v} seed": [f"{corr_table[('spearman', v)][z]:.3f} "
                                   f"[{corr_table[('spearman_low', v)][z]:.3f}, "
                                   f"{corr_table[('spearman_high', v)][z]:.3f}]"
                                   for z in corr_table.index] for v in ("shared", "cross")},
        "top-5 overlap": last[last["variant"] == "shared"]["top_k_overlap_at_5"].to_numpy(),
        "regret of the top 1": last[last["variant"] == "shared"]["regret_at_1"].to_numpy(),
    })
    c = grid.ceiling
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        images = {
            "costs": plot.plot_costs(profile, d / "costs.png",
                                     title=f"{bench.name}: cost per z relative to full"),
            "heatmap": plot.plot_heatmap(grid, d / "heatmap.png"),
            "correlations": plot.plot_correlations(grid, d / "correlations.png"),
            "diagonal": plot.plot_diagonal(diag, d / "diagonal.png",
                                           cost_label=bench.default_cost,
                                           title=f"{bench.name}: linear diagonal vs all layers"),
            "regret": plot.plot_regret(anytime, d / "regret.png",
                                       ylabel=f"regret on {cmp.metric}",
                                       title=f"{bench.name}: regret of the incumbent, {runs} "
                                             f"seeds, {n_workers} workers"),
            "ranks": plot.plot_ranks(ranks, d / "ranks.png",
                                     title=f"{bench.name}: average rank at "
                                           f"{budget_units:g}x, within this task"),
        }
        img = {k: _img(p, k) for k, p in images.items()}
    body = f"""
<h1>frozenbench report: {html.escape(bench.name)}</h1>
<h2>The table</h2>{_description(bench)}
<h2>Cost per z relative to full fidelity</h2>
<p class="note">Median over configs of cost(z) / cost(full z) at the last epoch, per cost
column the table has (time, CPU, FLOPs; peak memory per z).</p>
{_table(profile)}{img['costs']}
<h2>Rank correlation with full fidelity</h2>
<p class="note">Every ranking uses the seeds every config has (the common seeds). Shared seed:
low and full fidelity share seed 0 (optimistic; 1 at full fidelity by construction); cross
seed: the low fidelity from one seed against full fidelity from another, comparable with the
seed-noise ceiling. 95% bootstrap intervals over configs ({n_boot} resamples).</p>
<p>Seed-noise ceiling (seeds {list(c.seeds)} at full fidelity): Spearman {c.spearman},
Kendall {c.kendall}.</p>
<h3>Last epoch ({e_last})</h3>{_table(corr_rows, "{:.4f}")}
{img['correlations']}{img['heatmap']}
<h3>The fidelity formalism</h3>{_table(formalism)}
<h2>The paper's diagonal analysis</h2>
<p class="note">Successive halving along the linear diagonal (z = k at k/n of the epochs)
against all layers at the same epochs: correlation and the cost of evaluating every config at
each rung ({bench.default_cost}).</p>
{_table(diag[["z", "epoch", "epoch_fraction", "spearman_diagonal", "spearman_all_layers",
              "cost_diagonal", "cost_all_layers"]])}{img['diagonal']}
<h2>This table beside the paper</h2>
<p class="note">The paper used one seed per cell: compare its numbers with the shared-seed
column. Points are matched by the share of layers and epochs.</p>{_table(paper)}
<h2>HPO comparison</h2>
<p class="note">Budget in multiples of the median full-fidelity cost
({cmp.unit:.4g} {bench.default_cost}). The incumbent is the best config among those
evaluated at the highest fidelity reached so far in the run; regret = its full-fidelity score
on <code>{html.escape(cmp.metric)}</code> (common seeds; the table's test metric where it has
one, else validation) minus the best config's. Mean over the {runs} replay seeds that have an
incumbent, with 95% bootstrap intervals over those seeds; at 1x, 10x and 100x.</p>
{_table(final, "{:.4f}")}{img['regret']}
<p class="note">Average rank within this task's replay seeds (a description of one task: a
test of methods needs many tasks, see <code>frozenbench suite</code>).</p>
{_table(ranks, "{:.2f}")}{img['ranks']}
"""
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>frozenbench report: {html.escape(bench.name)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>\n")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, page)
