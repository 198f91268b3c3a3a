{#-
    Aggregates: the `value` of the row with the smallest (`min_by`) or largest (`max_by`)
    `order_by`, a list of expressions compared in order (ties broken deterministically, never
    null). NULL semantics, the same on every engine: the value is taken from that row whatever
    it is, so a null value gives null; no row is skipped because its value is null (DuckDB's
    `arg_min` would skip it and return the next row's value: `arg_min_null` does not).
-#}
{% macro min_by(value, order_by) -%}
    {{ return(adapter.dispatch('value_by', 'respawn')('min', value, order_by)) }}
{%- endmacro %}

{% macro max_by(value, order_by) -%}
    {{ return(adapter.dispatch('value_by', 'respawn')('max', value, order_by)) }}
{%- endmacro %}

{#- `extreme`: min or max. -#}
{% macro duckdb__value_by(extreme, value, order_by) -%}
    arg_{{ extreme }}_null({{ value }}, ({{ order_by | join(', ') }}))
{%- endmacro %}

{#- Spark's min_by/max_by take the value of the row with the extreme ordering, null or not;
    a struct orders by its fields in turn. -#}
{% macro spark__value_by(extreme, value, order_by) -%}
    {{ extreme }}_by({{ value }}, struct({{ order_by | join(', ') }}))
{%- endmacro %}

{#- raised when a model is compiled for an engine without an implementation, not while the
    project is parsed (parsing renders every model for every adapter alike) -#}
{% macro default__value_by(extreme, value, order_by) -%}
    {%- if not execute -%}
        {{ return('null') }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        extreme ~ "_by has no implementation for adapter " ~ adapter.type() ~ ": add "
        ~ adapter.type() ~ "__value_by in macros/min_max_by.sql (a null value at the "
        ~ extreme ~ " row must give null)"
    ) }}
{%- endmacro %}
