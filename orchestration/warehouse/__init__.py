"""The warehouse domain: the merge of the loaded copies into `events` (one row per event_id),
and the library beneath both partitioned steps: loading, dedupe, the `raw.*` tables, the pandera
contract, the materialization metadata."""
