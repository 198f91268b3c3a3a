{#- Rows n = 0 .. upper - 1 in a column `n` (DuckDB and Spark: the `range` table function). -#}
{% macro integer_series(upper) -%}
    {{ return(adapter.dispatch('integer_series', 'respawn')(upper)) }}
{%- endmacro %}

{% macro duckdb__integer_series(upper) -%}
    select cast(range as integer) as n from range({{ upper }})
{%- endmacro %}

{% macro spark__integer_series(upper) -%}
    select cast(id as integer) as n from range({{ upper }})
{%- endmacro %}

{#- Postgres and its kin -#}
{% macro default__integer_series(upper) -%}
    select cast(n as integer) as n from generate_series(0, {{ upper }} - 1) as series (n)
{%- endmacro %}
