{#-
    An integer column wide enough for a sum of microsecond timestamps over every event of a day
    (beyond BIGINT at a few million events). DuckDB has a native 128-bit HUGEINT.
-#}
{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('wide_integer_type', 'respawn')()) }}
{%- endmacro %}

{% macro duckdb__wide_integer_type() -%}
    hugeint
{%- endmacro %}

{% macro default__wide_integer_type() -%}
    decimal(38, 0)
{%- endmacro %}
