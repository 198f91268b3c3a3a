{#-
    Incremental strategy `replace_scope`: the rows of this run's key set are replaced, and only
    they (macros/reprocessing.sql). Steps, in the model's transaction:
      1. publish the rows in scope that change (old and new version) for the children;
      2. delete the model's rows in scope;
      3. insert the recomputed rows in scope.
    The key set is a predicate over the rows (`in_reprocess_scope`), so an engine without
    row-level DELETE rewrites the table as the rows outside the scope plus the recomputed ones
    (Spark: `spark__replace_scope_sql`, run by macros/materializations/incremental_spark.sql).
-#}
{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_scope_sql', 'respawn')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set computed = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set plan = reprocessing_plan() -%}
    {%- set statements = [] -%}
    {%- set beyond_scope -%}
        -- what the model computed beyond its key set is not this run's to write
        delete from {{ computed }} as computed
        where not coalesce({{ in_reprocess_scope('computed', plan) }}, false)
    {%- endset -%}
    {%- do statements.append(beyond_scope) -%}
    {%- do statements.extend(publish_reprocessed(target, computed, plan)) -%}
    {%- if plan['as_of'] -%}
        {%- do statements.append(
            'delete from ' ~ target ~ ' as replaced where '
            ~ in_reprocess_scope('replaced', plan, 'as_of')
        ) -%}
    {%- endif -%}
    {%- do statements.append(
        'delete from ' ~ target ~ ' as replaced where '
        ~ in_reprocess_scope('replaced', plan, 'keys')
    ) -%}
    {%- do statements.append(
        'insert into ' ~ target ~ ' (' ~ columns ~ ')\n    select ' ~ columns ~ ' from ' ~ computed
    ) -%}
    {{ return(run_statements(statements)) }}
{%- endmacro %}

{#- Spark: `temp_relation` is a table of what the model computed. The rows kept (outside the
    scope) and the recomputed ones in scope are written to `<model>__dbt_rewrite`; the returned
    statement overwrites the model with it. -#}
{% macro spark__replace_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set computed = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set plan = reprocessing_plan() -%}
    {%- set rewrite = target.incorporate(path={'identifier': target.identifier ~ '__dbt_rewrite'}) -%}
    {%- set in_scope -%}
        (select * from {{ computed }} as computed
        where coalesce({{ in_reprocess_scope('computed', plan) }}, false)) as computed_in_scope
    {%- endset -%}
    {%- set statements = publish_reprocessed(target, in_scope, plan) -%}
    {%- do statements.append('drop table if exists ' ~ rewrite) -%}
    {%- set rewritten -%}
        create table {{ rewrite }} using parquet as
        select {{ columns }} from {{ target }} as replaced
        where not coalesce({{ in_reprocess_scope('replaced', plan) }}, false)
        union all
        select {{ columns }} from {{ in_scope }}
    {%- endset -%}
    {%- do statements.append(rewritten) -%}
    {%- do statements.append(
        'insert overwrite table ' ~ target ~ ' select ' ~ columns ~ ' from ' ~ rewrite
    ) -%}
    {{ return(run_statements(statements, keep_last=true)) }}
{%- endmacro %}
