"""The exports domain: what the game team reads, without touching the warehouse.

After every scoring run, `churn_score_exports` writes the latest scoring date's scores and reasons
under `$RESPAWN_HOME/exports/<scoring date>/` (Parquet, CSV, a static HTML report; `latest` links
to the newest), and `respawn scores` prints and exports segments of it. Readers of the files never
hold DuckDB's file lock, so they never block Dagster's writers.
"""
