{#-
    First date a run of a date-keyed incremental model recomputes, rendered as a date literal:
    1900-01-01 (everything) on a full build.

    The model's own latest `watermark_column` value minus `lookback_days`, or the earliest
    receive date of int_events_time_corrected that changed since the model's last run when that
    is earlier (a backfilled day, see changed_inputs.sql), is W: every event received or changed
    since the previous run has `receive_date >= W`. Callers record their input with
    `post_hook="{{ record_input_state(ref('int_events_time_corrected')) }}"`. Any
    session with such an event may have changed as a whole (its clock shift, its start, its
    matches), so the run recomputes from the earliest `event_date` of those sessions, or from W
    when that is later. Everything before that date depends only on unchanged events.
-#}
{% macro reprocess_from_date(watermark_column, lookback_days=1) -%}
    {%- set events = ref('int_events_time_corrected') -%}
    {%- if execute and is_incremental() -%}
        {%- set watermark_sql -%}
            select cast(
                {{ dbt.dateadd('day', -1 * lookback_days, 'max(' ~ watermark_column ~ ')') }}
                as date
            )
            from {{ this }}
        {%- endset -%}
        {%- set watermark = run_query(watermark_sql).columns[0].values()[0] -%}
        {%- if watermark is none -%}
            {{ return("cast('1900-01-01' as date)") }}
        {%- endif -%}
        {%- set watermark = earlier_date(watermark, earliest_changed_receive_date(events)) -%}
        {%- set bound_sql -%}
            select min(event_date)
            from {{ events }}
            where session_id in (
                select session_id
                from {{ events }}
                where receive_date >= cast('{{ watermark }}' as date)
            )
        {%- endset -%}
        {%- set earliest = run_query(bound_sql).columns[0].values()[0] -%}
        {%- if earliest is not none and earliest < watermark -%}
            {%- set watermark = earliest -%}
        {%- endif -%}
        {{ return("cast('" ~ watermark ~ "' as date)") }}
    {%- else -%}
        {{ return("cast('1900-01-01' as date)") }}
    {%- endif -%}
{%- endmacro %}
