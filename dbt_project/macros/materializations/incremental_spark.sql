{#-
    The incremental materialization on Spark, for the project's one strategy, `replace_scope`
    (macros/replace_scope.sql). dbt-spark's own accepts only its built-in strategies, and of
    those `merge` needs Delta, Iceberg or Hudi, `insert_overwrite` replaces partitions (the key
    sets here are users and sessions, not partitions) and `append` replaces nothing. A run:
      1. computes the model's SQL into a scratch table `<model>__dbt_computed` (the SQL reads
         the model's own kept rows: Spark cannot overwrite a table a query reads);
      2. the strategy publishes the rows in scope, writes the rows kept and the recomputed ones
         to `<model>__dbt_rewrite`, and overwrites the model with it (`spark__replace_scope_sql`);
      3. drops both scratch tables.
    The first build, a full refresh or a view in the way: the table is created from the SQL.
-#}
{% materialization incremental, adapter='spark' -%}
    {%- set strategy = config.get('incremental_strategy') -%}
    {%- if strategy != 'replace_scope' -%}
        {{ exceptions.raise_compiler_error(
            "incremental models of this project use incremental_strategy='replace_scope' on "
            ~ "Spark (macros/materializations/incremental_spark.sql), not " ~ strategy
        ) }}
    {%- endif -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set computed = target_relation.incorporate(
        path={'identifier': this.identifier ~ '__dbt_computed'}
    ) -%}
    {%- set rewrite = target_relation.incorporate(
        path={'identifier': this.identifier ~ '__dbt_rewrite'}
    ) -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(
        config.get('on_schema_change'), default='ignore'
    ) -%}

    {{ run_hooks(pre_hooks) }}

    {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() -%}
        {%- if existing_relation is not none -%}
            {%- do adapter.drop_relation(existing_relation) -%}
        {%- endif -%}
        {%- call statement('main') -%}
            {{ create_table_as(False, target_relation, compiled_code) }}
        {%- endcall -%}
    {%- else -%}
        {%- do run_query('drop table if exists ' ~ computed) -%}
        {%- call statement('computed') -%}
            {{ create_table_as(False, computed, compiled_code) }}
        {%- endcall -%}
        {%- do process_schema_changes(on_schema_change, computed, existing_relation) -%}
        {%- set build_sql = get_incremental_replace_scope_sql({
            'target_relation': target_relation,
            'temp_relation': computed,
            'dest_columns': adapter.get_columns_in_relation(existing_relation),
            'unique_key': none,
            'incremental_predicates': none,
        }) -%}
        {%- call statement('main') -%}
            {{ build_sql }}
        {%- endcall -%}
        {%- do run_query('drop table if exists ' ~ rewrite) -%}
        {%- do run_query('drop table if exists ' ~ computed) -%}
    {%- endif -%}

    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
