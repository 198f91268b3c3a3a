{#-
    The latest non-null value of `expression` in a window frame ordered by `order_by`, up to the
    current row (DuckDB: `last_value(... ignore nulls)`).
-#}
{% macro last_non_null(expression, partition_by, order_by) -%}
    {{ return(adapter.dispatch('last_non_null', 'respawn')(expression, partition_by, order_by)) }}
{%- endmacro %}

{% macro duckdb__last_non_null(expression, partition_by, order_by) -%}
    last_value({{ expression }} ignore nulls) over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{#- Spark: `last(expression, true)` skips nulls -#}
{% macro spark__last_non_null(expression, partition_by, order_by) -%}
    last({{ expression }}, true) over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{% macro default__last_non_null(expression, partition_by, order_by) -%}
    last_value({{ expression }}) ignore nulls over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}
