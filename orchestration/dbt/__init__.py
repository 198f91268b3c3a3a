"""The dbt domain: the dbt project's models as Dagster assets (built from its manifest)."""
