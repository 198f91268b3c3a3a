"""`python -m ingestion.server`: the ingestor on its own, as `respawn serve` runs it."""

import sys

from ingestion.server.command import main

sys.exit(main())
