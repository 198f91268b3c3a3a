{#-
    `timestamp` moved by `microseconds` (a BIGINT expression). DuckDB's interval arithmetic in
    dbt.dateadd multiplies an INTEGER interval, which overflows past ~35 minutes in
    microseconds, so DuckDB builds the interval from a BIGINT instead.
-#}
{% macro add_microseconds(timestamp, microseconds) -%}
    {{ return(adapter.dispatch('add_microseconds', 'respawn')(timestamp, microseconds)) }}
{%- endmacro %}

{% macro duckdb__add_microseconds(timestamp, microseconds) -%}
    ({{ timestamp }} + to_microseconds(cast({{ microseconds }} as bigint)))
{%- endmacro %}

{% macro default__add_microseconds(timestamp, microseconds) -%}
    {{ dbt.dateadd('microsecond', microseconds, timestamp) }}
{%- endmacro %}
