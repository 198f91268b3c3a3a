"""The tests start real ingestors with the same helper as `respawn demo`."""

from orchestration.demo.ingestor import Ingestor, free_port, http_get, running_ingestor

__all__ = ["Ingestor", "free_port", "http_get", "running_ingestor"]
