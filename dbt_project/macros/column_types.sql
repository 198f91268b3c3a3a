{#-
    Column types the engines spell differently:
      uuid          UUID identifiers. DuckDB's native UUID is 16 bytes: sorts, joins and writes
                    far cheaper than the 36-character text. Engines without one keep the text.
      wide_integer  an integer wide enough for a sum of microsecond timestamps or 64-bit hashes
                    over every event of a day (beyond BIGINT): DuckDB has a native 128-bit
                    HUGEINT.
-#}
{% macro uuid_type() -%}
    {{ return(adapter.dispatch('column_type', 'respawn')('uuid')) }}
{%- endmacro %}

{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('column_type', 'respawn')('wide_integer')) }}
{%- endmacro %}

{% macro duckdb__column_type(kind) -%}
    {{ return({'uuid': 'uuid', 'wide_integer': 'hugeint'}[kind]) }}
{%- endmacro %}

{% macro default__column_type(kind) -%}
    {{ return({'uuid': dbt.type_string(), 'wide_integer': 'decimal(38, 0)'}[kind]) }}
{%- endmacro %}
