{#-
    `aggregate` (sum or max) of `value` over the rows of the `n` days up to the snapshot day,
    for a join that already reads the `lookback_days` days up to it: the widest window needs
    no condition. Rows outside the window count as 0.
-#}
{% macro trailing_aggregate(aggregate, value, n, lookback_days, day, snapshot_day) -%}
    {%- if n == lookback_days -%}
        {{ aggregate }}({{ value }})
    {%- else -%}
        {{ aggregate }}(case when {{ day }} > {{ snapshot_day }} - {{ n }} then {{ value }} else 0 end)
    {%- endif -%}
{%- endmacro %}
