"""The landing: where accepted and refused events are written, durably, as JSONL shards.

    layout    where shards live and what they are called (`Stream`, partitions, shard names)
    lines     the landed-line format: the one encoder, a frame's lines, the column spec
    writer    `ShardWriter`: append, rotate, fsync, publish by an atomic rename
    recovery  publish what a crashed process left in flight

Nothing is re-exported here: import from the module that owns a name.
"""
