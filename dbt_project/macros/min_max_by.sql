{#-
    Aggregate: the `value` of the row with the smallest `order_by` (a list of expressions
    compared in order, so that ties are broken deterministically). DuckDB: `arg_min` over a row.
-#}
{% macro min_by(value, order_by) -%}
    {{ return(adapter.dispatch('min_by', 'respawn')(value, order_by)) }}
{%- endmacro %}

{% macro duckdb__min_by(value, order_by) -%}
    arg_min({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro default__min_by(value, order_by) -%}
    {{ exceptions.raise_compiler_error(
        "min_by has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__min_by in macros/min_max_by.sql"
    ) }}
{%- endmacro %}

{#- Aggregate: the `value` of the row with the largest `order_by` (see min_by). -#}
{% macro max_by(value, order_by) -%}
    {{ return(adapter.dispatch('max_by', 'respawn')(value, order_by)) }}
{%- endmacro %}

{% macro duckdb__max_by(value, order_by) -%}
    arg_max({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro default__max_by(value, order_by) -%}
    {{ exceptions.raise_compiler_error(
        "max_by has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__max_by in macros/min_max_by.sql"
    ) }}
{%- endmacro %}
