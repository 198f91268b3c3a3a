"""The shard sensor: newly published shards -> a load of their partitions, near real time.

A shard's name is `<node>-<pid>-<start>-<seq>.jsonl`: one writer (node, pid, start) publishes
its shards in `seq` order, one at a time (crash recovery publishes a dead writer's last shard,
still its highest seq). The cursor keeps the highest seq requested per writer and stream, so a
shard is requested exactly once however many ticks see it; the run key names the shards too.
"""

import hashlib
import json
from collections import defaultdict
from datetime import date

import dagster as dg

from ingestion.landing.layout import Stream, parse_shard_name, shard_day
from orchestration.automation.jobs import load_landed_events
from orchestration.partitions import daily_partitions
from orchestration.resources import LandingResource


def _writer_and_seq(stream: str, name: str) -> tuple[str, int]:
    parsed = parse_shard_name(name)
    if parsed is None:  # not written by ShardWriter: tracked by its own name
        return f"{stream}/{name}", 1
    return f"{stream}/{parsed.node}-{parsed.pid}-{parsed.start}", parsed.seq


@dg.sensor(
    job=load_landed_events,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a load of each partition that has newly published shards.",
)
def landed_shards_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult:
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    new_by_day: dict[date, list[str]] = defaultdict(list)
    highest = dict(seen)
    for stream in Stream:
        for path in landing.shards(stream):
            writer, seq = _writer_and_seq(stream, path.name)
            if seq <= seen.get(writer, 0):
                continue
            new_by_day[shard_day(path)].append(path.relative_to(landing.path).as_posix())
            highest[writer] = max(highest.get(writer, 0), seq)
    valid_keys = set(daily_partitions.get_partition_keys())
    requests = []
    for day, shards in sorted(new_by_day.items()):
        key = day.isoformat()
        if key not in valid_keys:
            context.log.warning(
                f"{len(shards)} shard(s) of {key} are outside the partitions "
                f"(first day {daily_partitions.start:%Y-%m-%d}; set RESPAWN_FIRST_DAY)"
            )
            continue
        digest = hashlib.sha256("\n".join(sorted(shards)).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"shards-{key}-{digest}",
                partition_key=key,
                tags={"respawn/new_shards": str(len(shards))},
            )
        )
    if not requests:
        return dg.SensorResult(skip_reason="no new published shards", cursor=json.dumps(highest))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(highest, sort_keys=True))
