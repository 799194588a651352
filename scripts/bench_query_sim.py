"""Performance of the query API and the replay simulator, measured side by side in one run.

    .venv/bin/python scripts/bench_query_sim.py            # everything (~1-2 min, ~3 GB RAM)
    .venv/bin/python scripts/bench_query_sim.py --no-big   # skip the 10M-row table
    .venv/bin/python scripts/bench_query_sim.py --sim-only # the engine beside the old simulate
    .venv/bin/python scripts/bench_query_sim.py --scale    # issue 20: 10k/100k/1M ASHA trials,
                                                           # id vs dict queries, 10M-row load

Targets (issue 5): one query >= 10x faster than a pandas MultiIndex .loc lookup of the same
cell and within 10x of a raw dict + numpy lookup; batch >= 5M cells/s; ASHA, 4 workers,
1000 evaluations <= 50 ms, 8000 <= 0.5 s (linear); 100 seeds of Hyperband <= 10 s; a 10M-row
table answers queries at the same per-query cost. The engine (issue 10) is timed beside the
single-function ``simulate`` it replaced (commit ``OLD_SIMULATE``, read from git into a
temporary module), on the same table, in the same process.

Scale (issue 20), measured side by side in one run: the replay's cost per trial at 10k, 100k
and 1M ASHA trials (4 workers, each in a fresh process; CPU and wall time) and the ratio 1M/10k
(at most 2x, 1.5x the aim); a query by integer id beside the same query by dict; a 10M-row
table loaded by ``fb.load`` beside pyarrow reading the same columns (with and without the
files' sha256), each in a fresh process, best of ``--repeat``: time and peak RSS ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

import frozenbench as fb
from frozenbench.manifest import TABLE_NAME
from frozenbench.sim import budget_unit
from frozenbench.synthetic import write_benchmark


def per_call(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` seconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def query_costs(bench: fb.Benchmark, n: int = 50_000) -> dict[str, float]:
    rng = np.random.default_rng(0)
    cfgs = [bench.configs[i] for i in rng.integers(len(bench), size=64)]
    zs = [int(z) for z in rng.integers(1, max(bench.fidelities["z"]) + 1, size=64)]
    es = [int(e) for e in rng.integers(1, max(bench.fidelities["epoch"]) + 1, size=64)]
    k = [0]

    def public() -> Any:
        k[0] = (k[0] + 1) & 63
        return bench.query(cfgs[k[0]], zs[k[0]], es[k[0]])

    ids = [bench.config_id(c) for c in cfgs]

    def public_id() -> Any:
        k[0] = (k[0] + 1) & 63
        return bench.query(ids[k[0]], zs[k[0]], es[k[0]])

    def public_seed() -> Any:
        k[0] = (k[0] + 1) & 63
        return bench.query(cfgs[k[0]], zs[k[0]], es[k[0]], seed=0)

    # raw: a dict from config key to index, and a numpy lookup of one metric
    arr = np.ascontiguousarray(bench.objective("val_error"))
    index = {tuple(c.items()): i for i, c in enumerate(bench.configs)}
    z_pos = {z: i for i, z in enumerate(bench.fidelities["z"])}
    e_pos = {e: i for i, e in enumerate(bench.fidelities["epoch"])}

    def raw() -> Any:
        k[0] = (k[0] + 1) & 63
        return arr[index[tuple(cfgs[k[0]].items())], z_pos[zs[k[0]]], e_pos[es[k[0]]]]

    for f in (public, public_id, public_seed, raw):
        f()
    return {"public": per_call(public, n), "public_id": per_call(public_id, n),
            "public_seed": per_call(public_seed, n), "raw": per_call(raw, n)}


def pandas_cost(bench: fb.Benchmark) -> float:
    frame = bench.to_frame().set_index(["config_id", "z", "epoch", "seed"]).sort_index()
    rng = np.random.default_rng(1)
    keys = [(int(bench.config_ids[i]), int(z), int(e), 0) for i, z, e in zip(
        rng.integers(len(bench), size=64), rng.integers(1, 12, size=64),
        rng.integers(1, 21, size=64))]
    k = [0]

    def loc() -> Any:
        k[0] = (k[0] + 1) & 63
        return frame.loc[keys[k[0]], "val_error"]

    loc()
    return per_call(loc, 2000)


def batch_rate(bench: fb.Benchmark, n: int = 1_000_000) -> float:
    rng = np.random.default_rng(2)
    ids = rng.choice(bench.config_ids, n)
    zs = rng.integers(1, max(bench.fidelities["z"]) + 1, n)
    es = rng.integers(1, max(bench.fidelities["epoch"]) + 1, n)
    bench.query_many(ids[:10], zs[:10], es[:10])
    seconds = per_call(lambda: bench.query_many(ids, zs, es), 1, repeat=5)
    return n / seconds


#: The last commit with the single-function ``simulate`` (before the engine).
OLD_SIMULATE = "4887487"


def old_simulate() -> Callable[..., Any]:
    """The pre-engine ``simulate`` (and its recorder), loaded from git into a fresh module."""
    import types

    root = Path(__file__).resolve().parents[1]

    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(root), "show", f"{OLD_SIMULATE}:{path}"],
                              capture_output=True, text=True, check=True).stdout

    traj = types.ModuleType("fb_old_trajectory")
    exec(compile(show("frozenbench/sim/trajectory.py"), "old_trajectory", "exec"),
         traj.__dict__)
    sys.modules["fb_old_trajectory"] = traj
    replay = types.ModuleType("fb_old_replay")
    code = show("frozenbench/sim/replay.py").replace(
        "from frozenbench.sim.trajectory import Recorder", "from fb_old_trajectory import Recorder")
    exec(compile(code, "old_replay", "exec"), replay.__dict__)
    fn: Callable[..., Any] = replay.simulate
    return fn


def engine_vs_old(bench: fb.Benchmark) -> dict[str, float]:
    """Best-of-5 seconds of the same replays with the engine and with the old function."""
    old = old_simulate()
    out: dict[str, float] = {}
    budget = 10 * budget_unit(bench)  # seconds: what the old simulate takes
    cases: dict[str, dict[str, Any]] = {
        "asha_8000": {"optimizer": "asha", "max_evaluations": 8000},
        "hyperband_budget": {"optimizer": "hyperband", "budget": budget},
        "random_budget": {"optimizer": "random", "fidelity": "full", "budget": budget},
    }
    for case, kw in cases.items():
        new_kw = {("budget_seconds" if k == "budget" else k): v for k, v in kw.items()}
        new_traj = fb.simulate(bench, n_workers=4, seed=0, **new_kw)
        old_traj = old(bench, n_workers=4, seed=0, **kw)
        same = new_traj.equals(old_traj)
        runners = {"engine": (fb.simulate, new_kw), "old": (old, kw)}
        for label, (fn, args) in runners.items():
            def once(fn: Callable[..., Any] = fn, kw: dict[str, Any] = args) -> Any:
                return fn(bench, n_workers=4, seed=0, **kw)

            out[f"{case}_{label}"] = per_call(once, 1, repeat=5)
        out[f"{case}_same"] = float(same)
    return out


def print_engine_vs_old(bench: fb.Benchmark) -> None:
    e = engine_vs_old(bench)
    print(f"\n== engine beside the old simulate (commit {OLD_SIMULATE}), same process ==")
    for case in ("asha_8000", "hyperband_budget", "random_budget"):
        new, old = e[f"{case}_engine"], e[f"{case}_old"]
        print(f"{case:18s} engine {new * 1e3:8.1f} ms   old {old * 1e3:8.1f} ms   "
              f"engine/old {new / old:5.2f}   identical trajectory: {bool(e[f'{case}_same'])}")


def sim_costs(bench: fb.Benchmark) -> dict[str, Any]:
    fb.simulate(bench, "asha", "z+epoch-geometric", n_workers=4, max_evaluations=100,
                seed=0)  # warm
    out: dict[str, Any] = {}
    for n in (1000, 8000):
        out[f"asha_{n}"] = per_call(
            lambda n=n: fb.simulate(bench, "asha", "z+epoch-geometric", n_workers=4,  # type: ignore[misc]
                                    max_evaluations=n, seed=0), 1, repeat=5)
    budget = 10 * budget_unit(bench)  # 10 budget units, as these figures always used
    t0 = time.perf_counter()
    evals = 0
    for seed in range(100):
        evals += len(fb.simulate(bench, "hyperband", "z+epoch-geometric", n_workers=4,
                                 budget_seconds=budget,
                                 seed=seed))
    out["hyperband_100"] = time.perf_counter() - t0
    out["hyperband_evals_per_run"] = evals / 100
    out["hyperband_budget"] = budget
    return out


BIG_GRID: dict[str, list[Any]] = {
    "lr": [10.0 ** -i for i in range(1, 11)], "wd": [10.0 ** -i for i in range(2, 12)],
    "opt": ["adam", "sgd", "adamw", "lion", "rmsprop"],
    "b1": [round(0.8 + 0.02 * i, 2) for i in range(10)],
    "b2": [round(0.9 + 0.01 * i, 2) for i in range(10)],
}


def big_write(directory: str, n_configs: int) -> dict[str, Any]:
    """Child process 1: write a table of n_configs x 11 z x 20 epochs x 1 seed."""
    t0 = time.perf_counter()
    d = write_benchmark(Path(directory), grid=BIG_GRID, n_configs=n_configs, full_z_seeds=1,
                        multi_seed_configs=0)
    return {"write_s": time.perf_counter() - t0,
            "rows": pq.read_metadata(d / TABLE_NAME).num_rows,
            "parquet_mb": (d / TABLE_NAME).stat().st_size / 1e6}


def big_load(directory: str) -> dict[str, Any]:
    """Child process 2 (fresh, so its peak RSS is the load's): load and query."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    bench = fb.load(directory)
    load_s = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    q = query_costs(bench)
    return {"load_s": load_s, "arrays_mb": bench.nbytes / 1e6, "rss_before_mb": rss0 / 1e3,
            "peak_rss_mb": rss1 / 1e3, "configs": len(bench), **q}


def asha_run(n_trials: int) -> dict[str, Any]:
    """Child process: one ASHA replay (z+epoch, 4 workers) of ``n_trials`` evaluations on the
    paper-shaped synthetic table (216 configs x 11 z x 20 epochs)."""
    with tempfile.TemporaryDirectory() as tmp:
        bench = fb.load(write_benchmark(Path(tmp) / "resnet", n_configs=216))
        fb.simulate(bench, "asha", "z+epoch-geometric", n_workers=4, max_evaluations=1000, seed=0)
        w0, c0 = time.perf_counter(), time.process_time()
        traj = fb.simulate(bench, "asha", "z+epoch-geometric", n_workers=4,
                           max_evaluations=n_trials, seed=0)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"evaluations": len(traj), "trials": int(traj.attrs["n_trials"]), "wall_s": wall,
            "cpu_s": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}


def read_columns(directory: str, how: str) -> dict[str, Any]:
    """Child process: read a table's columns the way ``how`` says, from a fresh process:
    ``"pyarrow"`` (the columns a Benchmark holds, nothing else), ``"pyarrow+sha256"`` (and
    every file's checksum first) or ``"fb.load"`` (checksums, validation, dense arrays)."""
    from frozenbench.manifest import Manifest
    from frozenbench.table import load as table_load

    root = Path(directory)
    loader = fb.load  # its module imported before the clock starts, as the readers' are
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w0, c0 = time.perf_counter(), time.process_time()
    if how == "fb.load":
        loader(root)
    else:
        manifest = Manifest.read(root)
        if how == "pyarrow+sha256":
            manifest.verify(root)
        pq.read_table(root / TABLE_NAME, columns=table_load.query_columns(manifest))
    return {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
            "rss_before_mb": rss0 / 1e3,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}


def print_scale(repeat: int, big: bool, asha: bool = True) -> None:
    """Issue 20's figures, side by side."""
    if asha:
        print_asha()
    with tempfile.TemporaryDirectory() as tmp:
        q = query_costs(fb.load(write_benchmark(Path(tmp) / "resnet", n_configs=216)))
    print(f"\n== one query ==\nby integer id {q['public_id'] * 1e6:.2f} us, by dict "
          f"{q['public'] * 1e6:.2f} us: id/dict {q['public_id'] / q['public']:.2f} "
          "(target <= 1)")
    if big:
        print_big_load(repeat)


def print_asha() -> None:
    print("\n== ASHA replay, z+epoch, 4 workers, one fresh process per size ==")
    runs = {n: child("--asha-run", str(n)) for n in (10_000, 100_000, 1_000_000)}
    for n, r in runs.items():
        print(f"{n:>9,} evaluations ({r['trials']:,} trials): {r['wall_s']:7.1f} s wall "
              f"{r['cpu_s']:7.1f} s CPU = {r['wall_s'] / n * 1e6:6.1f} us wall, "
              f"{r['cpu_s'] / n * 1e6:6.1f} us CPU per trial; peak RSS {r['peak_rss_mb']:.0f} MB")
    small, large = runs[10_000], runs[1_000_000]
    print(f"ratio 1M / 10k per trial: {large['cpu_s'] / small['cpu_s'] / 100:.2f} (CPU), "
          f"{large['wall_s'] / small['wall_s'] / 100:.2f} (wall); target <= 2, aim 1.5")


def print_big_load(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        w = child("--big-write", str(Path(tmp) / "big"), "46000")
        best: dict[str, dict[str, float]] = {}
        for _ in range(repeat):  # interleaved, so that a busy machine hurts each alike
            for how in ("pyarrow", "pyarrow+sha256", "fb.load"):
                r = child("--read-columns", str(Path(tmp) / "big"), how)
                old = best.get(how)
                best[how] = r if old is None else {k: min(v, r[k]) for k, v in old.items()}
    print(f"\n== {w['rows']:,}-row table ({w['parquet_mb']:.0f} MB Parquet), fresh process "
          f"each, best of {repeat} ==")
    for how, r in best.items():
        print(f"{how:15s} {r['wall_s']:6.2f} s wall {r['cpu_s']:6.2f} s CPU  peak RSS "
              f"{r['peak_rss_mb']:6.0f} MB (imports {r['rss_before_mb']:.0f} MB)")
    f = best["fb.load"]
    for base in ("pyarrow", "pyarrow+sha256"):
        b = best[base]
        print(f"fb.load / {base:15s} time {f['wall_s'] / b['wall_s']:.2f} (wall) "
              f"{f['cpu_s'] / b['cpu_s']:.2f} (CPU), peak RSS "
              f"{f['peak_rss_mb'] / b['peak_rss_mb']:.2f}; target <= 2")


def child(*argv: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-big", action="store_true", help="skip the 10M-row table")
    parser.add_argument("--sim-only", action="store_true",
                        help="only the engine beside the old simulate")
    parser.add_argument("--scale", action="store_true",
                        help="only issue 20's scale figures (with --no-big: without the table)")
    parser.add_argument("--no-asha", action="store_true",
                        help="with --scale: without the 10k/100k/1M ASHA replays")
    parser.add_argument("--repeat", type=int, default=2,
                        help="loads of the 10M-row table per reader (best is kept)")
    parser.add_argument("--asha-run", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--read-columns", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--big-write", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--big-load", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_write:
        print(json.dumps(big_write(args.big_write[0], int(args.big_write[1]))))
        return
    if args.big_load:
        print(json.dumps(big_load(args.big_load)))
        return
    if args.asha_run:
        print(json.dumps(asha_run(args.asha_run)))
        return
    if args.read_columns:
        print(json.dumps(read_columns(*args.read_columns)))
        return
    if args.scale:
        print_scale(args.repeat, big=not args.no_big, asha=not args.no_asha)
        return

    if args.sim_only:
        with tempfile.TemporaryDirectory() as tmp:
            print_engine_vs_old(fb.load(write_benchmark(Path(tmp) / "resnet", n_configs=216)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        d = write_benchmark(Path(tmp) / "resnet", n_configs=216)  # paper ResNet shape
        t0 = time.perf_counter()
        bench = fb.load(d)
        load_s = time.perf_counter() - t0
        rows = pq.read_metadata(d / TABLE_NAME).num_rows
        print(f"table: {len(bench)} configs x 11 z x 20 epochs, seeds {list(bench.seeds)}, "
              f"{rows} rows; load (sha256 + validate + dense arrays) {load_s * 1e3:.0f} ms")
        q = query_costs(bench)
        loc = pandas_cost(bench)
        print("\n== one query (best of 5) ==")
        print(f"bench.query(config dict, z, epoch)         {q['public'] * 1e6:7.2f} us  (mean)")
        print(f"bench.query(config id, z, epoch)           {q['public_id'] * 1e6:7.2f} us")
        print(f"bench.query(..., seed=0)                   {q['public_seed'] * 1e6:7.2f} us")
        print(f"raw dict + numpy lookup                    {q['raw'] * 1e6:7.2f} us")
        print(f"pandas MultiIndex .loc (sorted), same cell {loc * 1e6:7.2f} us")
        print(f"ratio pandas / public query                {loc / q['public']:7.1f} x  "
              f"(target >= 10)")
        print(f"ratio public query / raw                   {q['public'] / q['raw']:7.1f} x  "
              f"(target <= 10)")
        rate = batch_rate(bench)
        print(f"\n== batch ==\nquery_many, 1M random cells, all 6 quantities: "
              f"{rate / 1e6:.1f} M cells/s (target >= 5)")
        s = sim_costs(bench)
        print("\n== simulator ==")
        print(f"ASHA z+epoch, 4 workers, 1000 evaluations  {s['asha_1000'] * 1e3:7.1f} ms "
              f"(target <= 50)")
        print(f"ASHA z+epoch, 4 workers, 8000 evaluations  {s['asha_8000'] * 1e3:7.1f} ms "
              f"(target <= 500); 8000/1000 ratio {s['asha_8000'] / s['asha_1000']:.1f} "
              f"(linear = 8)")
        print(f"Hyperband z+epoch, 100 seeds               {s['hyperband_100']:7.2f} s  "
              f"(target <= 10; budget {s['hyperband_budget']:.0f} simulated s, "
              f"{s['hyperband_evals_per_run']:.0f} evaluations per run)")
        small_public = q["public"]
        print_engine_vs_old(bench)

    if not args.no_big:
        with tempfile.TemporaryDirectory() as tmp:
            w = child("--big-write", str(Path(tmp) / "big"), "46000")
            big = child("--big-load", str(Path(tmp) / "big"))
        print("\n== 10M-row table ==")
        print(f"rows {w['rows']:,} ({big['configs']} configs x 11 z x 20 epochs x 1 seed), "
              f"parquet {w['parquet_mb']:.0f} MB, written in {w['write_s']:.1f} s")
        print(f"load {big['load_s']:.1f} s (sha256, validation, dense arrays); arrays "
              f"{big['arrays_mb']:.0f} MB; peak RSS of the loading process "
              f"{big['peak_rss_mb']:.0f} MB (before load {big['rss_before_mb']:.0f} MB)")
        print(f"query {big['public'] * 1e6:.2f} us (216-config table {small_public * 1e6:.2f} us,"
              f" ratio {big['public'] / small_public:.2f}); raw {big['raw'] * 1e6:.2f} us")


if __name__ == "__main__":
    main()
