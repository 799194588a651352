"""Dataset cards: the ``README.md`` of a benchmark on the Hugging Face Hub, from its manifest.

A card has YAML front matter in the Hub's dataset-card format (license, task categories, tags,
size category, and a ``configs`` entry pointing at the Parquet table so that
``datasets.load_dataset(repo)`` reads it), then sections on the task, the search space, the
fidelities, the seed design, the schema, how the table was generated, its size and outcome
counts, a short analysis (best/worst score at full fidelity, rank correlation of every z with
full training next to the seed-noise ceiling), how to load it, and the citation.

Everything comes from the manifest and the table, so a card is regenerated, never edited:
``frozenbench card DIR`` or, for every shipped table, ``frozenbench card --all --out data_cards``.

>>> import tempfile
>>> from frozenbench.synthetic import write_benchmark
>>> with tempfile.TemporaryDirectory() as d:
...     text = render(write_benchmark(d, n_configs=6, n_z=3, n_epochs=2))
>>> text.splitlines()[0], '- "table.parquet"' in text, "## Citation" in text
('---', True, True)
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frozenbench.atomic import write_text_atomic
from frozenbench.manifest import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: The license of the tables (they are produced by MIT-licensed code; see each task's data).
LICENSE = "mit"

TAGS = ("hyperparameter-optimization", "multi-fidelity", "learning-curves", "layer-freezing",
        "automl", "benchmark", "tabular-benchmark", "frozenbench")

CITATION = """\
@inproceedings{carstensen2025frozen,
  title     = {Frozen Layers: Memory-efficient Many-fidelity Hyperparameter Optimization},
  author    = {Carstensen, Timur and Mallik, Neeratyoy and Hutter, Frank and Rapp, Martin},
  booktitle = {International Conference on Automated Machine Learning (AutoML)},
  year      = {2025},
  eprint    = {2504.10735},
  archivePrefix = {arXiv},
  url       = {https://arxiv.org/abs/2504.10735}
}"""


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket for a row count.

    >>> size_category(999), size_category(1000), size_category(250_000)
    ('n<1K', '1K<n<10K', '100K<n<1M')
    """
    bounds = [(10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"),
              (10**6, "100K<n<1M"), (10**7, "1M<n<10M"), (10**8, "10M<n<100M"),
              (10**9, "100M<n<1B")]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "n>1T" if rows >= 10**12 else "1B<n<10B"


def render(
    directory: str | os.PathLike[str] | None = None,
    *,
    bench: Benchmark | None = None,
    repo_id: str | None = None,
    analysis: bool = True,
) -> str:
    """The dataset card of a benchmark directory (or of an already loaded ``bench``).

    ``repo_id`` is the Hub repo the card will live in (for the loading examples; None: the
    examples load the benchmark by name). The card renders from what it is given: the caller
    looks up a published repo (``frozenbench card`` does, in :data:`frozenbench.hub.PUBLISHED`).
    ``analysis=False`` skips reading the table (no summary section).
    """
    if bench is None and directory is None:
        raise TypeError("render() needs a benchmark directory or bench=")
    if bench is not None:
        m = bench.manifest
    else:
        assert directory is not None
        m = Manifest.read(directory)
        if analysis:
            from frozenbench.table import Benchmark

            bench = Benchmark.from_directory(directory, verify=False)
    parts = [
        _front_matter(m),
        _intro(m),
        _task(m),
        _space(m),
        _fidelities(m),
        _seeds(m, bench),
        _schema(m),
        _generation(m),
        _counts(m),
        _analysis(bench) if (analysis and bench is not None) else "",
        _usage(m, repo_id),
        "## Citation\n\nIf you use this table, please cite the paper that introduced the "
        "layer-freezing fidelity:\n\n```bibtex\n" + CITATION + "\n```\n",
    ]
    return "\n".join(p for p in parts if p)


def write_card(
    directory: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    bench: Benchmark | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write the card of ``directory`` to ``out`` (default: ``directory/README.md``)."""
    path = Path(out) if out is not None else Path(directory) / "README.md"
    text = render(directory, bench=bench, repo_id=repo_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text)


# ---------------------------------------------------------------------- sections
def _yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML scalar


def _text(value: object) -> str:
    """Text from the manifest for the card's Markdown: HTML-escaped (as the report does), and
    no backtick that could close a code span.

    >>> _text("<script>alert(1)</script> `x`")
    '&lt;script&gt;alert(1)&lt;/script&gt; &#96;x&#96;'
    """
    return html.escape(str(value), quote=False).replace("`", "&#96;")


def _cell(value: object) -> str:
    """:func:`_text` for a table cell: no '|' either (it would end the cell).

    >>> _cell("a|b")
    'a&#124;b'
    """
    return _text(value).replace("|", "&#124;")


def _json(value: object, **kw: Any) -> str:
    """JSON of manifest values for a code span or block: a backtick, '<', '>' and '&' are
    written as ``\\u`` escapes (the same JSON), so the text cannot end the code early or be
    read as HTML.

    >>> _json({"a": "`<b>"})
    '{"a": "\\\\u0060\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(value, default=str, **kw)
    for char in "`<>&":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _table_files(m: Manifest) -> list[str]:
    return [f for f in m.files if f.endswith(".parquet")] or list(m.files)


def _front_matter(m: Manifest) -> str:
    lines = ["---", f"license: {LICENSE}",
             f"pretty_name: {_yaml_str('frozenbench ' + m.benchmark)}", "task_categories:",
             "- tabular-regression", "tags:"]
    lines += [f"- {t}" for t in TAGS]
    lines += ["size_categories:", f"- {size_category(m.rows)}", "configs:",
              "- config_name: default", "  data_files:", "  - split: train", "    path:"]
    lines += [f"    - {_yaml_str(f)}" for f in _table_files(m)]
    lines.append("---\n")
    return "\n".join(lines)


def _design(m: Manifest) -> str:
    """How the table's configs were chosen: a grid (and how much of it) or a sample."""
    space = m.space
    if space.design is not None:
        seed = "" if space.design.seed is None else f" (seed {space.design.seed})"
        method = "a scrambled Sobol design" if space.design.method == "sobol" else \
            f"a {space.design.method} design"
        return (f"{len(m.config_ids)} configurations drawn by {method}{seed} from the "
                "declared ranges")
    n_grid = math.prod(len(v) for v in m.grid.values())
    return f"{len(m.config_ids)} of the {n_grid} configurations of a grid"


def _intro(m: Manifest) -> str:
    z, e = m.fidelities["z"], m.fidelities["epoch"]
    text = (
        f"# frozenbench: {_text(m.benchmark)}\n\n"
        f"A tabular many-fidelity hyperparameter-optimization benchmark from "
        f"[frozenbench](https://arxiv.org/abs/2504.10735): learning curves of "
        f"{_design(m)}, trained with only the "
        f"last *z* of *n* = {max(z)} layers trainable (z = {min(z)}..{max(z)}; the other layers "
        f"stay frozen at their random initialisation), for {len(e)} epochs or checkpoints, with "
        f"repeated seeds. Training fewer layers needs less memory and time, so *z* is a "
        f"fidelity next to the epoch, and an HPO method can be replayed on this table in "
        f"seconds instead of training every configuration.\n"
    )
    if m.description:
        text += f"\n{_text(m.description)}\n"
    return text


def _task(m: Manifest) -> str:
    lines = ["## Task\n", f"- task: `{_text(m.task)}`", f"- metric (minimised): `{m.metric}`"]
    try:
        from frozenbench.tasks import get_task

        task = get_task(m.task)
    except Exception:  # unknown or synthetic task: the manifest is all we have
        task = None
    if task is not None:
        lines += [f"- model: `{task.model}` with {json.dumps(dict(task.model_args))}",
                  f"- data: `{task.data}` with {json.dumps(dict(task.data_args))}",
                  f"- batch size {task.batch_size}; budget {task.budget} "
                  f"({'epochs' if task.kind in ('image', 'tabular') else 'optimizer steps'}); "
                  f"lr schedule {task.schedule}"]
        if task.defaults:
            lines.append(f"- fixed hyperparameters: {json.dumps(dict(task.defaults))}")
        if task.deviations:
            lines += ["- deviations from the paper's setup:",
                      *(f"  - {d}" for d in task.deviations)]
        if task.augment:
            lines.append(f"- augmentation: {json.dumps(dict(task.augment))}")
        if task.description and task.description != m.description:
            lines.append(f"\n{task.description}")
    return "\n".join(lines) + "\n"


def _space(m: Manifest) -> str:
    lines = ["## Search space\n", "| hyperparameter | values | scale |", "|---|---|---|"]
    space = m.space
    if space.design is not None:
        for h in space.hyperparameters:
            ranged = h.low is not None and h.high is not None
            scale = ("log" if h.log else "linear") if ranged else \
                "categorical" if any(isinstance(v, str) for v in h.values) else "ordinal"
            shown = f"{_cell(h.low)} .. {_cell(h.high)}" if ranged else \
                ", ".join(_cell(v) for v in h.values)
            lines.append(f"| `{_cell(h.name)}` | {shown} | {scale} |")
        lines.append(f"\n{_design(m)}; `config_id` numbers the design's configs, whose exact "
                     "values are in the table and in the manifest's `space_declaration`.")
        return "\n".join(lines) + "\n"
    for name, values in m.grid.items():
        scale = ("log" if name in m.log_scale else
                 "categorical" if any(isinstance(v, str) for v in values) else "linear")
        lines.append(f"| `{_cell(name)}` | {', '.join(_cell(v) for v in values)} | {scale} |")
    n_grid = math.prod(len(v) for v in m.grid.values())
    lines.append(
        f"\n{n_grid} configurations in the grid; the table covers {len(m.config_ids)} of them "
        f"(`config_id` is the row-major grid index, see `frozenbench.space`).")
    return "\n".join(lines) + "\n"


def _fidelities(m: Manifest) -> str:
    z, e = m.fidelities["z"], m.fidelities["epoch"]
    return (
        "## Fidelities\n\n"
        f"- `z` in {min(z)}..{max(z)}: the number of trailing layers trained (z = {max(z)} is "
        "full training); a different z is a separate run from scratch.\n"
        f"- `epoch` in {min(e)}..{max(e)} ({len(e)} records): 1-based epoch or checkpoint; "
        "costs are cumulative, so continuing a run from epoch a to b costs `cost[b] - cost[a]`.\n"
        f"- Full fidelity is z = {max(z)} at epoch {max(e)}.\n"
    )


def _seeds(m: Manifest, bench: Benchmark | None) -> str:
    lines = ["## Seeds and noise\n", f"Seeds in the table: {list(m.seeds)}."]
    if bench is not None and len(bench.seeds) > 1:
        mask = bench.seed_mask()  # [config, z, seed]
        n_s = mask.sum(axis=2)
        full = int((n_s[:, -1] > 1).sum())
        every = int((n_s.min(axis=1) > 1).sum())
        lines.append(
            f"Every cell has seed {bench.seeds[0]}; {full} of {len(bench)} configs have more than "
            f"one seed at full z, and {every} configs have several seeds at every z. The repeats "
            "measure the seed-noise floor: a fidelity cannot rank configs better than a rerun "
            "with another seed does (see the seed-noise ceiling below).")
    seeds_spec = m.spec.get("seeds") if isinstance(m.spec, dict) else None
    if seeds_spec:
        lines.append(f"\nSeed design in the generation spec: `{_json(seeds_spec)}`.")
    return "\n".join(lines) + "\n"


def _schema(m: Manifest) -> str:
    from frozenbench.schema import COLUMNS, KEY_COLUMNS, arrow_schema

    version = m.schema_version  # the table's, which an older table keeps
    names = set(arrow_schema(m.grid, version=version).names)
    keys = [k for k in KEY_COLUMNS if k in names]
    per = ", ".join(k.removesuffix("_id") for k in keys)
    lines = [f"## Schema (version {version})\n",
             f"Long format, one row per ({per}); the key is "
             f"{', '.join(f'`{k}`' for k in keys)}.\n",
             "| column | type | meaning |", "|---|---|---|"]
    for name in m.grid:
        lines.append(f"| `{_cell(name)}` | hyperparameter | value of `{_cell(name)}` in this "
                     "config |")
    for c in (c for c in COLUMNS if c.name in names):
        lines.append(f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _generation(m: Manifest) -> str:
    lines = ["## How it was generated\n",
             f"- code version: {_text(m.code_version or 'not recorded')}",
             f"- hardware: {_text(m.hardware or 'not recorded')}",
             f"- created: {_text(m.created or 'not recorded')}",
             "- pipeline: `frozenbench generate run SPEC`, one training code path "
             "shared with live verification (`frozenbench verify`).",
             "- timing: `train_time_s` and `eval_time_s` are wall-clock seconds on the hardware "
             "above, several cells side by side; on a shared machine they carry noise "
             "(`frozenbench verify` reports live / table time ratios). `train_flops` is exact: "
             "replay with `--cost train_flops` for a noise-free clock."]
    if m.spec:
        lines += ["\nGeneration spec:\n", "```json", _json(m.spec, indent=1),
                  "```"]
    lines.append("\nFile checksums (sha256, checked on every load):\n")
    lines += [f"- `{_text(name)}`: {meta.get('bytes', '?')} bytes, `{meta.get('sha256')}`"
              for name, meta in m.files.items()]
    return "\n".join(lines) + "\n"


def _counts(m: Manifest) -> str:
    cells = dict(m.cells)
    total = sum(cells.values())
    text = f"## Size\n\n- rows: {m.rows}\n- cells (config, z, seed): {total}"
    if cells:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(cells.items())) + ")"
    text += f"\n- failed cells (absent from the table): {len(m.failed_cells)}\n"
    if cells.get("diverged"):
        text += ("\nA diverged cell keeps the rows it finished; its last row has NaN/inf "
                 "losses. Queries report it; the simulator scores it as the worst value.\n")
    return text


def _analysis(bench: Benchmark) -> str:
    import numpy as np

    from frozenbench.analysis import rank_correlations, seed_ceiling

    scores = bench.full_fidelity_scores()
    finite = np.isfinite(scores)
    if not finite.any():
        return ""
    best, worst = int(np.nanargmin(scores)), int(np.nanargmax(scores))
    metric = bench.metric
    corr = rank_correlations(bench)
    last = corr[corr["epoch"] == bench.fidelities["epoch"][-1]]
    ceiling, n_pairs = seed_ceiling(bench)
    lines = [
        "## Summary\n",
        f"At full fidelity ({metric}, mean over seeds, diverged = worst): best "
        f"{scores[best]:.4f}, median {float(np.nanmedian(scores)):.4f}, worst "
        f"{scores[worst]:.4f}.\n",
        f"- best config: `{_json(bench.configs[best])}`",
        f"- worst config: `{_json(bench.configs[worst])}`\n",
        "Spearman rank correlation of each z (last epoch) with full fidelity, over "
        f"{len(bench)} configs:\n",
        "| z | " + " | ".join(str(z) for z in last["z"]) + " |",
        "|---|" + "---|" * len(last),
        "| Spearman | " + " | ".join(_fmt(v) for v in last["spearman"]) + " |",
        f"\nSeed-noise ceiling (seed vs seed at full fidelity, {n_pairs} configs): "
        f"{_fmt(ceiling)}. `frozenbench correlate NAME` gives every (z, epoch).",
    ]
    return "\n".join(lines) + "\n" + _costs(bench) + _effects(bench)


def _costs(bench: Benchmark) -> str:
    """Cost per z relative to full, per cost column: the default clock rises with z."""
    import numpy as np

    from frozenbench.schema import RESOURCES

    rows = []
    for cost in RESOURCES:
        arr = bench.peak_memory() if cost == "peak_memory_bytes" else bench.cost_array(cost)[
            :, :, -1]
        if not np.isfinite(arr).any():
            continue
        med = np.nanmedian(arr, axis=0)
        rows.append(f"| `{cost}` | " + " | ".join(f"{v / med[-1]:.2f}" for v in med) + " |")
    zs = bench.fidelities["z"]
    return "\n".join([
        "\n## Cost per z\n",
        f"Median over configs at the last epoch, relative to z = {zs[-1]}. The default clock "
        f"(`{bench.default_cost}`) is the median CPU time of the training thread over all "
        "cells of a (z, epoch) (and optimizer, where it changes a step's work): one cell's "
        "CPU time moves ~10% with what shares the machine, the median does not, so the cost "
        "order of adjacent z holds. Adjacent levels that would differ by less than 2% of the "
        "FLOPs are merged into one layer by the task (see the deviations).\n",
        "| cost | " + " | ".join(f"z={z}" for z in zs) + " |",
        "|---|" + "---|" * len(zs),
        *rows,
    ]) + "\n"


def _effects(bench: Benchmark) -> str:
    """Each hyperparameter's effect against seed noise."""
    from frozenbench.analysis.effects import MEASURABLE, hyperparameter_effects
    from frozenbench.errors import FrozenbenchError

    try:
        eff = hyperparameter_effects(bench)
    except FrozenbenchError:
        return ""
    if "shuffled_over_noise" in eff.columns:
        return _sampled_effects(eff)
    lines = ["\n## Does every hyperparameter matter?\n",
             "Mean absolute change of the full-fidelity score between configs that differ "
             "in one hyperparameter only, against the mean difference between two seeds of "
             "the same config (`scripts/hp_effects.py`); the suite's standard is an effect of "
             f"at least {MEASURABLE:g}x the seed noise for every hyperparameter:\n",
             "| hyperparameter | config pairs | mean effect | seed noise | effect / noise |",
             "|---|---|---|---|---|"]
    for r in eff.to_dict("records"):
        ratio = float(r["effect_over_noise"])
        lines.append(f"| `{r['hyperparameter']}` | {r['pairs']} | {r['mean_abs_effect']:.4f} | "
                     f"{r['seed_noise']:.4f} | {ratio:.1f}"
                     f"{'' if ratio >= MEASURABLE else ' (below the standard)'} |")
    return "\n".join(lines) + "\n"


def _sampled_effects(eff: Any) -> str:
    lines = ["\n## Does every hyperparameter matter?\n",
             "Range of the full-fidelity score's mean over bins of each hyperparameter (a bin "
             "per choice, tertiles of a range), against the mean difference between two seeds "
             "of the same config, beside the same figure for that hyperparameter's values "
             "shuffled across the configs (what chance gives; "
             "`frozenbench.analysis.effects`). An effect clearly above its shuffled figure is "
             "real:\n",
             "| hyperparameter | effect / seed noise | shuffled values / seed noise |",
             "|---|---|---|"]
    for r in eff.to_dict("records"):
        lines.append(f"| `{r['hyperparameter']}` | {float(r['effect_over_noise']):.1f} | "
                     f"{float(r['shuffled_over_noise']):.1f} |")
    return "\n".join(lines) + "\n"


def _fmt(x: Any) -> str:
    return "n/a" if x is None or not math.isfinite(float(x)) else f"{float(x):.3f}"


def _usage(m: Manifest, repo_id: str | None) -> str:
    name = f"hub:{repo_id}@<commit>" if repo_id else m.benchmark
    where = ("downloads the pinned revision, checks sha256" if repo_id
             else "shipped table or a published name; checks sha256")
    cfg = m.space.config(m.config_ids[0]) if m.config_ids else {}
    z, e = max(m.fidelities["z"]), max(m.fidelities["epoch"])
    text = (
        "## Usage\n\n```python\nimport frozenbench as fb\n\n"
        f"bench = fb.load({name!r})  # {where}\n"
        f"config = {cfg!r}\n"
        f"print(bench.query(config, z={z}, epoch={e}))  # one cell, mean over seeds\n"
        f"print(bench.curve(config, z=1))  # its learning curve at z=1\n"
        "traj = fb.simulate(bench, optimizer=\"asha\", fidelity=\"z\", n_workers=4, "
        "budget=10, seed=0)  # 10 x the median full-fidelity cost\n```\n"
    )
    if repo_id:
        text += (f"\nCommand line: `frozenbench download {repo_id}@<commit>`. The raw table "
                 "with 🤗 Datasets:\n\n```python\nfrom datasets import load_dataset\n\n"
                 f"table = load_dataset({repo_id!r}, split=\"train\", "
                 "revision=\"<commit>\")\n```\n")
    text += f"\nThe manifest (`{MANIFEST_NAME}`) describes the table and lists file checksums.\n"
    return text
