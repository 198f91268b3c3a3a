{#- Aggregate: the number of rows where `condition` holds, as an INTEGER (0, never null). -#}
{% macro count_where(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as integer)
{%- endmacro %}
