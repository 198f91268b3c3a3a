{#-
    Which receive dates an incremental model must read again, whatever order data arrived in.

    A load of receive date D can only change rows received on D or later (dedupe keeps the
    earliest copy), but D may be older than anything a model has seen: a backfilled day, or two
    nightly runs finishing out of order. Watermarks on the model's own rows cannot see that, so
    each incremental model records, after every run, a fingerprint of the input it read: per
    receive date, the rows and a checksum of their receive times (`record_input_state`, a
    post-hook). The next run reprocesses from the earliest receive date whose fingerprint
    changed (`earliest_changed_receive_date`). A model without a record reprocesses everything.
-#}

{% macro input_state_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='dbt_incremental_inputs'
    )) }}
{%- endmacro %}

{#- Created once per invocation (on-run-start), so that post-hooks in parallel threads only write rows. -#}
{% macro create_input_state() -%}
    create table if not exists {{ input_state_relation() }} (
        model_name {{ dbt.type_string() }},
        receive_date date,
        row_count {{ dbt.type_bigint() }},
        received_checksum {{ wide_integer_type() }}
    )
{%- endmacro %}

{% macro input_fingerprint(input) -%}
    select
        receive_date,
        count(*) as row_count,
        sum(cast(
            {{ dbt.datediff("cast('2000-01-01' as timestamp)", 'received_at', 'microsecond') }}
            as {{ wide_integer_type() }}
        )) as received_checksum
    from {{ input }}
    group by receive_date
{%- endmacro %}

{#- The earliest receive date of `input` that changed since this model last recorded it: a date,
    none when nothing changed, 1900-01-01 when the model has no record. -#}
{% macro earliest_changed_receive_date(input) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed_sql -%}
        with

        current_input as (
            {{ input_fingerprint(input) }}
        ),

        recorded as (
            select receive_date, row_count, received_checksum
            from {{ input_state_relation() }}
            where model_name = '{{ this.identifier }}'
        )

        select
            (select count(*) from recorded) as recorded_dates,
            min(coalesce(current_input.receive_date, recorded.receive_date)) as earliest_changed
        from current_input
        full outer join recorded on current_input.receive_date = recorded.receive_date
        where
            current_input.row_count is distinct from recorded.row_count
            or current_input.received_checksum is distinct from recorded.received_checksum
    {%- endset -%}
    {%- set row = run_query(changed_sql).rows[0] -%}
    {%- if row[0] == 0 -%}
        {{ return(modules.datetime.date(1900, 1, 1)) }}
    {%- endif -%}
    {{ return(row[1]) }}
{%- endmacro %}

{#- Post-hook: what the model just read, for the next run's `earliest_changed_receive_date`. -#}
{% macro record_input_state(input) -%}
    delete from {{ input_state_relation() }} where model_name = '{{ this.identifier }}';
    insert into {{ input_state_relation() }} (model_name, receive_date, row_count, received_checksum)
    select '{{ this.identifier }}', receive_date, row_count, received_checksum
    from ({{ input_fingerprint(input) }}) as fingerprint
{%- endmacro %}

{#- The earlier of two dates, either of which may be none. -#}
{% macro earlier_date(first, second) -%}
    {%- if first is none -%}
        {{ return(second) }}
    {%- elif second is none or first <= second -%}
        {{ return(first) }}
    {%- endif -%}
    {{ return(second) }}
{%- endmacro %}

{#- Pre-hook of a model keyed by receive date: delete+insert rewrites the dates a run selects,
    so a date whose every row left `input` (its copies all replaced by earlier ones received on
    a backfilled day) is deleted here. -#}
{% macro delete_receive_dates_gone_from(input) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where receive_date not in (
            select distinct receive_date from {{ input }} where receive_date is not null
        )
    {%- endif -%}
{%- endmacro %}
