"""Table generation: grid specs, launching with submitit, shards, merge (the ``generation``
extra: ``pip install 'frozenbench[generation]'``).

    frozenbench generate run SPEC --executor slurm|local|debug [--out DIR] [--max-jobs N]
    frozenbench generate status SPEC [--out DIR]
    frozenbench generate merge SPEC --dest DIR [--allow-missing]
    frozenbench generate compact SPEC [--out DIR]

Modules: :mod:`~frozenbench.generation.spec` (TOML grid specs -> the list of cells; the shipped
ones are in ``grids/``), :mod:`~frozenbench.generation.store` (one atomically written Parquet
shard per finished cell, packs), :mod:`~frozenbench.generation.worker` (a job's chunk of cells,
checkpointable for requeue), :mod:`~frozenbench.generation.launch` (submitit executors, the run
and its status), :mod:`~frozenbench.generation.merge` (validated table + manifest). A cell is
one :class:`frozenbench.cell.Cell` throughout. The functions return values; only the command
line prints.
"""
