{#-
    Lower bound of what an incremental run reprocesses, rendered as a date literal so that the
    engine can prune the scan on it. Only called inside is_incremental().

    The latest value of `column` already in the target (that day may have been loaded only in
    part), minus `lookback_days`; or, when earlier, the earliest receive date of `input` that
    changed since this model's last run (a backfilled day, see changed_inputs.sql).
-#}
{% macro incremental_start_date(column, input, lookback_days=0) -%}
    {%- set start = none -%}
    {%- if execute -%}
        {%- set latest = run_query("select cast(max(" ~ column ~ ") as date) from " ~ this).columns[0].values()[0] -%}
        {%- if latest is not none -%}
            {%- set start = latest - modules.datetime.timedelta(days=lookback_days) -%}
            {%- set start = earlier_date(start, earliest_changed_receive_date(input)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if start is none -%}
        cast('1900-01-01' as date)
    {%- else -%}
        cast('{{ start }}' as date)
    {%- endif -%}
{%- endmacro %}
