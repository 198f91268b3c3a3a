{#- A share or a ratio of two counts or durations as a DOUBLE on every engine, 0 when there is
    nothing to divide by (a player with no match has a win rate of 0, not NULL). -#}
{% macro ratio(numerator, denominator) -%}
    case when {{ denominator }} > 0 then ({{ numerator }}) * 1e0 / ({{ denominator }}) else 0 end
{%- endmacro %}
