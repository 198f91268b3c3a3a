{#-
    Statements the engines run differently. The reprocessing record and the `replace_scope`
    strategy replace rows by a predicate; DuckDB and the engines with row-level DML do it with a
    delete and an insert. Spark's parquet tables have no DELETE (Delta or Iceberg would: their
    jars cannot be installed here), so on Spark a replacement is a rewrite: the rows kept and
    the new ones are written to a scratch table, which then overwrites the table. Its cost is
    the whole table's size, read twice and written twice, whatever the number of rows replaced
    (docs/data-engineers.md, "Running the dbt project on Spark").

    A hook or a strategy builds a list of statements and hands it to `run_statements`: DuckDB
    runs them as one string (in the model's transaction, as before); Spark's session runs one
    statement per call, so they run one by one.
-#}

{#- The relation `identifier` in the target schema (Spark has no database above schemas). -#}
{% macro target_relation_named(identifier) -%}
    {{ return(api.Relation.create(
        database=(target.database if target.database is defined else none),
        schema=target.schema, identifier=identifier
    )) }}
{%- endmacro %}

{#- Run `statements` (a list); in a hook, what it returns is the hook's SQL. `keep_last`: the
    last one is returned, not run (a strategy's `main` statement). -#}
{% macro run_statements(statements, keep_last=false) -%}
    {{ return(adapter.dispatch('run_statements', 'respawn')(statements, keep_last)) }}
{%- endmacro %}

{% macro default__run_statements(statements, keep_last) -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro spark__run_statements(statements, keep_last) -%}
    {%- set to_run = statements[:-1] if keep_last else statements -%}
    {%- for statement in to_run -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return(statements[-1] if keep_last and statements else '') }}
{%- endmacro %}

{#- The statements that replace the rows of `relation` (alias `alias`) where `where` holds by
    the rows of the select `rows`, whose columns are `columns` (the table's, in order).
    `partition`: the value (a literal) of the table's first column, `model_name`, that every
    replaced and every new row has: on Spark the table is partitioned by it (`partitioned_by`)
    and only that partition is rewritten. `whole_partition`: `where` is all of it;
    `reads_table`: `rows` may read the table itself. -#}
{% macro replace_rows(
    relation, where, rows, columns, alias=none, partition=none, whole_partition=false,
    reads_table=true
) -%}
    {{ return(adapter.dispatch('replace_rows', 'respawn')(
        relation, where, rows, columns, alias, partition, whole_partition, reads_table
    )) }}
{%- endmacro %}

{% macro default__replace_rows(
    relation, where, rows, columns, alias, partition, whole_partition, reads_table
) -%}
    {%- set deleted -%}
        delete from {{ relation }}{{ ' as ' ~ alias if alias }} where {{ where }}
    {%- endset -%}
    {%- set inserted -%}
        insert into {{ relation }} ({{ columns | join(', ') }})
        {{ rows }}
    {%- endset -%}
    {{ return([deleted, inserted]) }}
{%- endmacro %}

{#- Spark cannot overwrite a table that the same statement reads: what must be read is first
    written to a scratch table. Within one partition, the rows kept are those of that partition
    only; without one, the whole table's. -#}
{% macro spark__replace_rows(
    relation, where, rows, columns, alias, partition, whole_partition, reads_table
) -%}
    {%- set scratch = relation.incorporate(
        path={'identifier': relation.identifier ~ '__dbt_rewrite'}
    ) -%}
    {%- set statements = [] -%}
    {%- if partition is not none -%}
        {%- set rest = columns[1:] | join(', ') -%}
        {%- set into -%}
            insert overwrite table {{ relation }} partition ({{ columns[0] }} = {{ partition }})
            ({{ rest }})
        {%- endset -%}
        {%- set replacing -%}
            select {{ rest }} from (
                {{ rows }}
            ) as replacing ({{ columns | join(', ') }})
        {%- endset -%}
        {%- if whole_partition and not reads_table -%}
            {{ return([into ~ '\n' ~ replacing]) }}
        {%- endif -%}
        {%- set partition_now -%}
            create table {{ scratch }} using parquet as
            {%- if not whole_partition %}
                select {{ rest }}
                from {{ relation }}{{ ' as ' ~ alias if alias }}
                where {{ columns[0] }} = {{ partition }} and not coalesce({{ where }}, false)
                union all
            {%- endif %}
            {{ replacing }}
        {%- endset -%}
        {%- set written = into ~ '\nselect ' ~ rest ~ ' from ' ~ scratch -%}
    {%- else -%}
        {%- set partition_now -%}
            create table {{ scratch }} using parquet as
            select {{ columns | join(', ') }}
            from {{ relation }}{{ ' as ' ~ alias if alias }}
            where not coalesce({{ where }}, false)
            union all
            select * from (
                {{ rows }}
            ) as replacing
        {%- endset -%}
        {%- set written = 'insert overwrite table ' ~ relation ~ ' (' ~ columns | join(', ')
            ~ ')\nselect ' ~ columns | join(', ') ~ ' from ' ~ scratch -%}
    {%- endif -%}
    {{ return([
        'drop table if exists ' ~ scratch, partition_now, written, 'drop table ' ~ scratch
    ]) }}
{%- endmacro %}

{#- The clause that partitions a table of the reprocessing record by its model (Spark, where a
    replacement rewrites one model's partition instead of the table); nothing elsewhere. -#}
{% macro partitioned_by(column) -%}
    {{ return(adapter.dispatch('partitioned_by', 'respawn')(column)) }}
{%- endmacro %}

{% macro default__partitioned_by(column) -%}
{%- endmacro %}

{% macro spark__partitioned_by(column) -%}
    using parquet partitioned by ({{ column }})
{%- endmacro %}

{#- A temporary relation of the session: DuckDB's temporary table, Spark's temporary view (it
    has no temporary tables). -#}
{% macro create_temporary_relation_as(name, sql) -%}
    {{ return(adapter.dispatch('create_temporary_relation_as', 'respawn')(name, sql)) }}
{%- endmacro %}

{% macro default__create_temporary_relation_as(name, sql) -%}
    create or replace temporary table {{ name }} as
    {{ sql }}
{%- endmacro %}

{% macro spark__create_temporary_relation_as(name, sql) -%}
    create or replace temporary view {{ name }} as
    {{ sql }}
{%- endmacro %}

{#- The target schema, before the on-run-start hooks create the reprocessing record in it (dbt
    creates the schemas of the models only; on DuckDB `main` always exists). -#}
{% macro create_target_schema() -%}
    create schema if not exists {{ target.schema }}
{%- endmacro %}

{#-
    Contracts: the YAML says `varchar`, DuckDB's (and Postgres') text type; Spark knows VARCHAR
    only with a length, in a table's schema. The contract check casts nulls to the declared
    types: on Spark a size-less `varchar` is its string type. (dbt's own check, unchanged.)
-#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set portable = {} -%}
    {%- for name in columns -%}
        {%- set column = {} -%}
        {%- do column.update(columns[name]) -%}
        {%- if (column.get('data_type') or '') | trim | lower in ('varchar', 'text') -%}
            {%- do column.update({'data_type': dbt.type_string()}) -%}
        {%- endif -%}
        {%- do portable.update({name: column}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(portable)) }}
{%- endmacro %}
