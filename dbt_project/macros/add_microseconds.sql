{#-
    Microsecond arithmetic, the project's own on every engine: dbt's cross-database
    `datediff`/`dateadd` are not exact there on every adapter (dbt-spark's `datediff(...,
    'microsecond')` parses the microseconds out of the timestamp's text, NULL unless it ends in six
    digits; its `dateadd('microsecond')` rounds to whole seconds).
      add_microseconds(timestamp, microseconds)  `timestamp` moved by `microseconds` (a BIGINT
                                                 expression)
      microseconds_between(start, end)           `end - start` in whole microseconds (BIGINT)
    DuckDB's interval arithmetic in dbt.dateadd multiplies an INTEGER interval, which overflows
    past ~35 minutes in microseconds, so DuckDB builds the interval from a BIGINT instead.
-#}
{% macro add_microseconds(timestamp, microseconds) -%}
    {{ return(adapter.dispatch('add_microseconds', 'respawn')(timestamp, microseconds)) }}
{%- endmacro %}

{% macro duckdb__add_microseconds(timestamp, microseconds) -%}
    ({{ timestamp }} + to_microseconds(cast({{ microseconds }} as bigint)))
{%- endmacro %}

{#- Spark: a timestamp is a count of microseconds since the epoch; exact both ways. -#}
{% macro spark__add_microseconds(timestamp, microseconds) -%}
    timestamp_micros(unix_micros({{ timestamp }}) + cast({{ microseconds }} as bigint))
{%- endmacro %}

{% macro default__add_microseconds(timestamp, microseconds) -%}
    {{ dbt.dateadd('microsecond', microseconds, timestamp) }}
{%- endmacro %}

{% macro microseconds_between(start, end) -%}
    {{ return(adapter.dispatch('microseconds_between', 'respawn')(start, end)) }}
{%- endmacro %}

{% macro spark__microseconds_between(start, end) -%}
    (unix_micros({{ end }}) - unix_micros({{ start }}))
{%- endmacro %}

{#- DuckDB (`date_diff('microsecond', ...)`) and engines whose datediff counts microseconds. -#}
{% macro default__microseconds_between(start, end) -%}
    {{ dbt.datediff(start, end, 'microsecond') }}
{%- endmacro %}
