{#-
    Which receive dates of the source changed since staging last read it, whatever the order
    they arrived in: a new day, a day loaded again or in part, a backfill older than everything
    built, or a day whose copies were replaced by earlier ones received on another day.

    After each run staging records, per receive date of what it read, the rows and the sum of a
    hash of each kept copy's identity (event_id, received_at, shard_path, line_number: a landed
    line never changes). A date whose record differs from the source now, or that is in only
    one of them, changed.
-#}

{% macro source_fingerprints_relation() -%}
    {{ return(target_relation_named('dbt_source_fingerprints')) }}
{%- endmacro %}

{#- Created once per invocation (on-run-start). -#}
{% macro create_source_fingerprints() -%}
    create table if not exists {{ source_fingerprints_relation() }} (
        model_name {{ dbt.type_string() }},
        receive_date date,
        row_count {{ dbt.type_bigint() }},
        checksum {{ wide_integer_type() }}
    ) {{ partitioned_by('model_name') }}
{%- endmacro %}

{% macro source_fingerprint(input, where='1 = 1') -%}
    select
        receive_date,
        count(*) as row_count,
        sum(cast(
            {{ row_hash(['event_id', 'received_at', 'shard_path', 'line_number']) }}
            as {{ wide_integer_type() }}
        )) as checksum
    from {{ input }}
    where {{ where }}
    group by receive_date
{%- endmacro %}

{#- The changed receive dates of `input` (a list, maybe empty); none without a record. -#}
{% macro changed_receive_dates(input) -%}
    {%- set changed_sql -%}
        with

        current_input as (
            {{ source_fingerprint(input) }}
        ),

        recorded as (
            select receive_date, row_count, checksum
            from {{ source_fingerprints_relation() }}
            where model_name = '{{ this.identifier }}'
        )

        select
            (select count(*) from recorded) as recorded_dates,
            coalesce(current_input.receive_date, recorded.receive_date) as receive_date
        from current_input
        full outer join recorded on current_input.receive_date = recorded.receive_date
        where
            current_input.row_count is distinct from recorded.row_count
            or current_input.checksum is distinct from recorded.checksum
        union all
        -- a row even when nothing changed, to count the recorded dates
        select (select count(*) from recorded), null
    {%- endset -%}
    {%- set rows = run_query(changed_sql).rows -%}
    {%- if rows[0][0] == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(rows | map(attribute=1) | reject('none') | list | sort) }}
{%- endmacro %}

{#- Post-hook part of staging: the fingerprints of the dates it just read (a list of
    statements, macros/rewrite_rows.sql). -#}
{% macro record_source_fingerprints(input, plan) -%}
    {%- set rows -%}
        select '{{ this.identifier }}', receive_date, row_count, checksum
        from (
            {{ source_fingerprint(input ~ ' as input', in_reprocess_scope('input', plan)) }}
        ) as fingerprint
    {%- endset -%}
    {{ return(replace_rows(
        source_fingerprints_relation(),
        "model_name = '" ~ this.identifier ~ "' and " ~ in_reprocess_scope('recorded', plan),
        rows, ['model_name', 'receive_date', 'row_count', 'checksum'], alias='recorded',
        partition="'" ~ this.identifier ~ "'"
    )) }}
{%- endmacro %}
