{#-
    Aggregates: the `value` of the row with the smallest (`min_by`) or largest (`max_by`)
    `order_by`, a list of expressions compared in order (ties broken deterministically, never
    null). NULL semantics, the same on every engine: the value is taken from that row whatever
    it is, so a null value gives null; no row is skipped because its value is null (DuckDB's
    `arg_min` would skip it and return the next row's value: `arg_min_null` does not).
-#}
{% macro min_by(value, order_by) -%}
    {{ return(adapter.dispatch('min_by', 'respawn')(value, order_by)) }}
{%- endmacro %}

{% macro duckdb__min_by(value, order_by) -%}
    arg_min_null({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro default__min_by(value, order_by) -%}
    {{ exceptions.raise_compiler_error(
        "min_by has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__min_by in macros/min_max_by.sql (a null value at the"
        ~ " first row must give null)"
    ) }}
{%- endmacro %}

{% macro max_by(value, order_by) -%}
    {{ return(adapter.dispatch('max_by', 'respawn')(value, order_by)) }}
{%- endmacro %}

{% macro duckdb__max_by(value, order_by) -%}
    arg_max_null({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro default__max_by(value, order_by) -%}
    {{ exceptions.raise_compiler_error(
        "max_by has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__max_by in macros/min_max_by.sql (a null value at the"
        ~ " last row must give null)"
    ) }}
{%- endmacro %}
