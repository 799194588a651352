"""Table generation: grid specs, launching with submitit, shards, merge (the ``generation``
extra: ``pip install 'frozenbench[generation]'``).

    frozenbench generate run SPEC --executor slurm|local|debug [--out DIR] [--max-jobs N]
    frozenbench generate status SPEC [--out DIR]
    frozenbench generate merge SPEC --dest DIR [--allow-missing]
    frozenbench generate compact SPEC [--out DIR]

Modules: :mod:`~frozenbench.generation.spec` (TOML grid specs -> the list of cells; the shipped
ones are in ``grids/``), :mod:`~frozenbench.generation.store` (one atomically written Parquet
shard per finished cell, packs), :mod:`~frozenbench.generation.one_cell` (a stack of cells
trained and written, the same for every executor), :mod:`~frozenbench.generation.executors`
(what every executor shares: planning, repair, scanning, stacks, the one pool loop, progress),
:mod:`~frozenbench.generation.worker` (a submitit job's chunk of cells, checkpointable for
requeue), :mod:`~frozenbench.generation.launch` (submitit's SLURM, local and debug executors,
the run and its status), :mod:`~frozenbench.generation.gpu_pack` (processes sharing one
device), :mod:`~frozenbench.generation.merge` (validated table + manifest). A cell travels as
one :class:`frozenbench.cell.CellJob` from the spec's plan to its shard, whose store knows it as
a :class:`frozenbench.cell.Cell` (its stem). The functions return values and report progress
through callbacks; only the command line prints.
"""
