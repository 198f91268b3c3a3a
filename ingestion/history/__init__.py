"""Bringing a studio's history in: `respawn import PATH…`.

    source    reading a history file (JSONL, plain or gzipped): its digests, its lines in chunks
    manifest  the import manifest: which contents were imported, from where, with what counts
    importer  validating each line with the contract and landing it as published shards
    command   the `respawn import` subcommand

An imported event lands as the ingestor would have landed it when it was received, at the time
the event itself says (`received_at` when the line has one, else its own `timestamp`): the
corrected event time in dbt is then the event's own, and nothing looks like a late clock.

Nothing is re-exported here: import from the module that owns a name.
"""
