"""What the dbt domain contributes to the code location: built by a function, since the dbt
assets need the manifest (parsed first under `dagster dev`)."""

import dagster as dg

from orchestration.dbt.assets import build_dbt_models
from orchestration.dbt_project import dbt_project, require_manifest


def build_dbt_definitions() -> dg.Definitions:
    project = dbt_project()
    project.prepare_if_dev()
    return dg.Definitions(assets=[build_dbt_models(project, require_manifest())])
