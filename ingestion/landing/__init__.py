"""The landing: where accepted and refused events are written, durably, as JSONL shards.

    layout    where shards live and what they are called (`Stream`, partitions, shard names)
    lines     the landed-line format: the one encoder, a frame's lines, the column spec
    store     where published shards live: a local directory or object storage (s3://);
              listing, publishing (a rename, or one PUT with If-None-Match: *), reading
    files     the file system calls the landing makes (`FileOps`, which tests make fail)
    writer    `ShardWriter`: append, rotate, fsync, publish through the store
    recovery  publish what a crashed process left in flight

Nothing is re-exported here: import from the module that owns a name.
"""
