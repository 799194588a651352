"""Adapters to the HPO libraries researchers already use, each behind its own extra.

- :mod:`frozenbench.interop.configspace`: the search space and the fidelities as ConfigSpace
  objects (``pip install 'frozenbench[configspace]'``);
- :mod:`frozenbench.interop.optuna`: an Optuna study (any sampler, any pruner) replayed on the
  simulated clock, one report per epoch, pruned trials stop paying
  (``pip install 'frozenbench[optuna]'``);
- :mod:`frozenbench.interop.smac`: SMAC3's Hyperband and multi-fidelity facades on the
  simulated clock, one budget axis over epochs, z or the linear z+epoch diagonal
  (``pip install 'frozenbench[smac]'``);
- :mod:`frozenbench.interop.dehb`: DEHB on the simulated clock, the same budget axes
  (``pip install 'frozenbench[dehb]'``, then DEHB itself with ``--no-deps``);
- :mod:`frozenbench.interop.synetune`: the table as a Syne Tune tabular blackbox (in memory or
  in Syne Tune's on-disk format), Syne Tune's own simulator run on it, and any Syne Tune
  scheduler that stops trials on the simulated clock (``pip install 'frozenbench[syne-tune]'``);
- :mod:`frozenbench.interop.neps`: NePS multi-fidelity optimizers (hyperband, priorband, asha
  ...) through ``neps.AskAndTell`` on the simulated clock, the same budget axes
  (``pip install 'frozenbench[neps]'``);
- :mod:`frozenbench.interop.carps`: the table as a CARP-S objective function and task, so any
  CARP-S optimizer runs on it (``pip install 'frozenbench[carps]'``);
- :mod:`frozenbench.interop.hpoglue`: the table as an hpoglue many-fidelity benchmark (epoch
  and z as fidelities, the costs frozenbench charges), run by hposuite's optimizers and
  studies (``pip install 'frozenbench[hpoglue]'``);
- :mod:`frozenbench.interop.mfpbench`: mf-prior-bench's ``Benchmark`` names
  (``query(config, at=)``, ``trajectory``, ``sample``, ``prior`` ...) on a table, so mfpbench
  users can swap benchmarks (``pip install 'frozenbench[configspace]'``);
- :mod:`frozenbench.interop.budget`: the one budget axis and the trial book the SMAC, DEHB,
  NePS and CARP-S adapters share;
- :mod:`frozenbench.interop.methods`: these libraries' optimizers by name
  (``optuna:tpe+hyperband``, ``smac:hyperband-epoch`` ...) for ``frozenbench simulate`` and
  ``frozenbench suite``.

``import frozenbench`` imports none of these libraries; each module imports its library when
used (:func:`frozenbench.extras.require`) and raises
:class:`~frozenbench.errors.MissingExtraError` naming the pip command if it is missing.
"""

from __future__ import annotations
