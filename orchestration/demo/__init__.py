"""`respawn demo`: the main job, end to end, on simulated players."""
