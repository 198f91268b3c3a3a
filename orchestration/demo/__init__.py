"""`respawn demo`: the main job, end to end, on simulated players. `ingestor` starts the real
ingestor process the demo needs (the tests and the benchmarks start theirs with it too)."""
