"""The automation domain: the jobs, and what launches them (the shard sensor, the nightly and
weekly schedules)."""
