"""The landing domain: the day's published shards loaded as they are (`raw_events`,
`deadletter_events`), and the checks on what landed."""
