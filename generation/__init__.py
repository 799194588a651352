"""frozenbench table generation: grid specs, launching with submitit, shards, merge.

    python -m generation run SPEC --executor slurm|local|debug [--out DIR] [--max-jobs N]
    python -m generation status SPEC
    python -m generation merge SPEC [--dest DIR] [--allow-missing]

Modules: :mod:`generation.spec` (TOML grid specs -> the list of cells), :mod:`generation.store`
(one atomically written Parquet shard per finished cell), :mod:`generation.worker` (a job's
chunk of cells, checkpointable for requeue), :mod:`generation.launch` (submitit executors,
progress, status), :mod:`generation.merge` (validated table + manifest).
"""
