"""The isolated cost profile measures one config alone: training step time, evaluation time as
its own column, and the peak memory of a training step measured (not estimated)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from frozenbench.generation.cost_profile import cpu_step_peak_bytes, measure  # noqa: E402
from frozenbench.tasks import get_task  # noqa: E402


def test_cpu_peak_counts_gradients_optimizer_state_and_activations():
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(100, 1000), torch.nn.ReLU(),
                                torch.nn.Linear(1000, 10))
    opt = torch.optim.Adam(model.parameters())
    x = torch.randn(64, 100)
    params = sum(p.numel() * 4 for p in model.parameters())

    def step():
        model(x).square().mean().backward()
        opt.step()

    peak = cpu_step_peak_bytes(step)
    # Gradients and Adam's two moments stay allocated (3 x the parameters); on top of them
    # the forward's activations (64 x 1000 floats, with the ReLU's output) are live at the peak.
    assert 3 * params + 2 * 64 * 1000 * 4 <= peak <= 3 * params + 8 * 64 * 1000 * 4


def test_profile_entries_are_measured_alone_per_z():
    task = get_task("debug-mnist")
    profile = measure(task, [0], benchmark="debug", z=[1, 6], warmup=1, iters=2)
    low, full = sorted(profile.entries, key=lambda e: e.z)
    for e in (low, full):
        assert e.memory_method == "cpu_profiler_peak" and e.eval_s > 0 and e.step_s > 0
        assert e.peak_memory_bytes > 4 * e.total_params  # at least the parameters
        assert e.memory_estimate_bytes > 0
    assert low.peak_memory_bytes < full.peak_memory_bytes  # z=1 trains only the head
