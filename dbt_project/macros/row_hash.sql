{#-
    A 64-bit hash of a list of expressions: equal inputs, equal hashes (on one engine). Summed,
    it fingerprints a set of rows whatever their order. DuckDB: `hash`, an unsigned BIGINT;
    Spark: `xxhash64`.
-#}
{% macro row_hash(expressions) -%}
    {{ return(adapter.dispatch('row_hash', 'respawn')(expressions)) }}
{%- endmacro %}

{% macro duckdb__row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{#- Spark: xxhash64, a signed BIGINT -#}
{% macro spark__row_hash(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}

{#- raised when compiled for an engine without one, not while parsing -#}
{% macro default__row_hash(expressions) -%}
    {%- if not execute -%}
        {{ return('null') }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "row_hash has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__row_hash in macros/row_hash.sql (Spark: xxhash64)"
    ) }}
{%- endmacro %}
