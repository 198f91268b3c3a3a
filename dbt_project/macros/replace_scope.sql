{#-
    Incremental strategy `replace_scope`: the rows of this run's key set are replaced, and only
    they (macros/reprocessing.sql). Steps, in the model's transaction:
      1. publish the rows in scope that change (old and new version) for the children;
      2. delete the model's rows in scope;
      3. insert the recomputed rows in scope.
    The key set is a predicate over the rows (`in_reprocess_scope`), so an engine without
    row-level DELETE can rewrite the table (or its partitions) as the rows outside the scope
    plus the recomputed ones: add `<adapter>__replace_scope_sql` for it.
-#}
{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_scope_sql', 'respawn')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set computed = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set plan = reprocessing_plan() -%}
    -- what the model computed beyond its key set is not this run's to write
    delete from {{ computed }} as computed
    where not coalesce({{ in_reprocess_scope('computed', plan) }}, false);
    {{ publish_reprocessed(target, computed, plan) }};
    {%- if plan['as_of'] %}
        delete from {{ target }} as replaced
        where {{ in_reprocess_scope('replaced', plan, 'as_of') }};
    {%- endif %}
    delete from {{ target }} as replaced where {{ in_reprocess_scope('replaced', plan, 'keys') }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ computed }}
{%- endmacro %}
