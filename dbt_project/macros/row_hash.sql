{#-
    A 64-bit hash of a list of expressions: equal inputs, equal hashes (on one engine). Summed,
    it fingerprints a set of rows whatever their order. DuckDB: `hash`, an unsigned BIGINT.
-#}
{% macro row_hash(expressions) -%}
    {{ return(adapter.dispatch('row_hash', 'respawn')(expressions)) }}
{%- endmacro %}

{% macro duckdb__row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro default__row_hash(expressions) -%}
    {{ exceptions.raise_compiler_error(
        "row_hash has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__row_hash in macros/row_hash.sql (Spark: xxhash64)"
    ) }}
{%- endmacro %}
