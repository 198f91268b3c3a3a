{#-
    Lower bound of what an incremental run reprocesses: the latest value of `column` already in
    the target (that day may have been loaded only in part), minus `lookback_days`. Rendered as a
    literal so that the engine can prune the scan on it. Only called inside is_incremental().
-#}
{% macro incremental_start_date(column, lookback_days=0) -%}
    {%- if execute -%}
        {%- set result = run_query("select max(" ~ column ~ ") from " ~ this) -%}
        {%- set latest = result.columns[0].values()[0] -%}
    {%- else -%}
        {%- set latest = none -%}
    {%- endif -%}
    {%- if latest is none -%}
        cast('1900-01-01' as date)
    {%- else -%}
        {{ dbt.dateadd('day', -1 * lookback_days, "cast('" ~ latest ~ "' as date)") }}
    {%- endif -%}
{%- endmacro %}
