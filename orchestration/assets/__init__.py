"""Asset modules. `orchestration.definitions` loads every module here: its assets and asset
checks join the code location without an edit, and so do the jobs, schedules and sensors it lists
in module-level `JOBS`, `SCHEDULES` and `SENSORS`. An asset downstream of `events` joins the
nightly job unless it is tagged `respawn/cadence: weekly` (see `orchestration.jobs`)."""
