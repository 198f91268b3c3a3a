"""`respawn serve`: the WebSocket ingestor. Validates game events against the v1 contract, stamps
the receive time and lands them durably as JSONL shards (see `ingestion.landing`).

    config     flags and environment variables
    limits     protocol limits and the per-connection rate limit
    frames     one frame in, lines to land and one reply out
    committer  group commit: many frames, one fsync, then their acks
    session    one client connection: read, validate, commit, acknowledge in order
    app        the WebSocket server: HTTP endpoints, auth, origins, shutdown
    metrics    Prometheus text for GET /metrics
    logs       structured JSON logs to stderr
    command    `respawn serve` itself, signals and worker processes
    __main__   `python -m ingestion.server`: the same command on its own
"""
