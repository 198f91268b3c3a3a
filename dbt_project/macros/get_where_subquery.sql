{#-
    dbt wraps the model of a data test that has a `where` config in this macro (the root
    project's version overrides dbt's). A `where` may name `__reprocessed_rows__`: it stands for
    the rows the model's latest run changed (`reprocessed_rows`), so that the nightly build tests
    one night's rows instead of whole tables. (dbt renders a test's `where` before any project
    macro is available, hence a placeholder instead of a macro call.)
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if '__reprocessed_rows__' in where -%}
        {%- set where = where | replace(
            '__reprocessed_rows__', reprocessed_rows(relation.identifier)
        ) -%}
    {%- endif -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
{%- endmacro %}
