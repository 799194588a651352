"""frozenbench table generation: grid specs, launching with submitit, shards, merge."""
