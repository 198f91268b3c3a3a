{#-
    Column types the engines spell differently:
      uuid          UUID identifiers. DuckDB's native UUID is 16 bytes: sorts, joins and writes
                    far cheaper than the 36-character text. Engines without one keep the text.
      wide_integer  an integer wide enough for a sum of microsecond timestamps or 64-bit hashes
                    over every event of a day (beyond BIGINT): DuckDB has a native 128-bit
                    HUGEINT.
      double        an 8-byte float (DuckDB and Spark: DOUBLE; dbt's `type_float` elsewhere, e.g.
                    BigQuery's FLOAT64; on DuckDB and Spark it would be the 4-byte FLOAT).
-#}
{% macro uuid_type() -%}
    {{ return(adapter.dispatch('column_type', 'respawn')('uuid')) }}
{%- endmacro %}

{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('column_type', 'respawn')('wide_integer')) }}
{%- endmacro %}

{% macro double_type() -%}
    {{ return(adapter.dispatch('column_type', 'respawn')('double')) }}
{%- endmacro %}

{% macro duckdb__column_type(kind) -%}
    {{ return({'uuid': 'uuid', 'wide_integer': 'hugeint', 'double': 'double'}[kind]) }}
{%- endmacro %}

{% macro spark__column_type(kind) -%}
    {{ return({'uuid': 'string', 'wide_integer': 'decimal(38, 0)', 'double': 'double'}[kind]) }}
{%- endmacro %}

{% macro default__column_type(kind) -%}
    {{ return({
        'uuid': dbt.type_string(), 'wide_integer': 'decimal(38, 0)', 'double': dbt.type_float()
    }[kind]) }}
{%- endmacro %}
