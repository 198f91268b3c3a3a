{#-
    The column type of UUID identifiers. DuckDB's native UUID is 16 bytes: sorts, joins and
    writes far cheaper than the 36-character text. Engines without one keep the text.
-#}
{% macro uuid_type() -%}
    {{ return(adapter.dispatch('uuid_type', 'respawn')()) }}
{%- endmacro %}

{% macro duckdb__uuid_type() -%}
    uuid
{%- endmacro %}

{% macro default__uuid_type() -%}
    {{ dbt.type_string() }}
{%- endmacro %}
