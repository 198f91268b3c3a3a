"""The game-client simulator: a player population with known churn, sent as web clients send it.

`population` (installs, hidden traits) -> `behaviour` (sessions, matches, rage quits, churn and
returns) -> `delivery` (device clocks, client versions, faults) -> `sender` (WebSocket clients) or
`to_landing` (published shards); `truth` records what really happened. `respawn simulate` is in
`command`.
"""
