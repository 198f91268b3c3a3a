{#-
    The reprocessing rule of every incremental model (docs/analytics-engineers.md, "Incremental
    runs"): a run replaces the rows of a key set, and the key set comes from the rows its
    parents replaced.

    A model declares in `config(reprocess={...})`:
      scope    how its rows are keyed: `session`, `user`, `user_date`, `user_from_date` (a
               user's rows from a day on) or `receive_date` (staging only);
      user / session / date   its columns (or expressions of `{row}`) that hold those keys;
      ids      `uuid` when its ids are typed as UUIDs (staging, intermediate);
      parents  {model: days}: the models whose changes reach it, and how many days earlier
               than a parent's changed day its own rows can change; or {model: {days, date,
               where}}: no earlier than the previous such day (`keys_since_previous`);
      publish  {user, session, date}: the columns its own published changes carry;
      vars     the vars it reads: another value rebuilds all its rows;
      as_of    {item, rows}: the reference it reads from int_as_of_dates (`as_of_at` or
               `last_complete_day`), and which of its rows move when that reference moves.

    A run (`reprocessing_plan`) reads what each parent replaced in the parent's latest run (the
    parent's published changes). From it come the model's keys (`reprocess_keys`); the model
    recomputes the rows of those keys, and the `replace_scope` strategy deletes the rows in
    scope and inserts the recomputed ones in scope (`in_reprocess_scope`), after publishing the
    rows in scope, both in their old and in their new version. Every other row is
    kept, which is exact as long as a model's rows outside its scope depend only on parent rows
    outside the parents' published changes: each model's SQL reads what its keys need.

    The model rebuilds all its rows (the plan is not `partial`) and publishes `is_everything`
    when it has no record, was built with other vars, missed a run of a parent (its record of
    what it consumed is neither the parent's latest batch nor the one before), a parent
    published `is_everything`, or the build is not incremental (a full build).
-#}

{% macro reprocessing_state_relation() -%}
    {{ return(target_relation_named('dbt_reprocessing_state')) }}
{%- endmacro %}

{% macro reprocessing_changes_relation() -%}
    {{ return(target_relation_named('dbt_reprocessing_changes')) }}
{%- endmacro %}

{#- The columns of the two tables, in table order. -#}
{% macro reprocessing_state_columns() -%}
    {{ return(['model_name', 'item', 'value']) }}
{%- endmacro %}

{% macro reprocessing_changes_columns() -%}
    {{ return(['model_name', 'is_everything', 'user_id', 'session_id', 'change_date']) }}
{%- endmacro %}

{#- Created once per invocation (on-run-start): hooks of parallel threads only write rows. -#}
{% macro create_reprocessing_tables() -%}
    {%- set state -%}
        create table if not exists {{ reprocessing_state_relation() }} (
            model_name {{ dbt.type_string() }},
            item {{ dbt.type_string() }},
            value {{ dbt.type_string() }}
        ) {{ partitioned_by('model_name') }}
    {%- endset -%}
    {%- set changes -%}
        create table if not exists {{ reprocessing_changes_relation() }} (
            model_name {{ dbt.type_string() }},
            is_everything boolean,
            user_id {{ dbt.type_string() }},
            session_id {{ dbt.type_string() }},
            change_date date
        ) {{ partitioned_by('model_name') }}
    {%- endset -%}
    {{ return(run_statements([state, changes])) }}
{%- endmacro %}

{% macro sql_literal(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ (value | string) | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{% macro sql_name_list(names) -%}
    {%- for name in names -%}{{ sql_literal(name) }}{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}

{% macro reprocess_config() -%}
    {{ return(config.get('reprocess') or {}) }}
{%- endmacro %}

{#- The values of the vars the model reads, as one string (its record compares it). -#}
{% macro reprocess_vars_signature() -%}
    {%- set parts = [] -%}
    {%- for name in reprocess_config().get('vars', []) -%}
        {%- do parts.append(name ~ '=' ~ var(name)) -%}
    {%- endfor -%}
    {{ return(parts | join('; ')) }}
{%- endmacro %}

{#- The model's reference from int_as_of_dates (config as_of.item), as text; none when unset. -#}
{% macro current_as_of() -%}
    {%- set item = reprocess_config()['as_of']['item'] -%}
    {%- set values = run_query(
        "select cast(" ~ item ~ " as " ~ dbt.type_string() ~ ") from " ~ ref('int_as_of_dates')
    ).columns[0].values() -%}
    {{ return(values[0] if values else none) }}
{%- endmacro %}

{#- What this run of the model reprocesses: {partial, parents, as_of, dates}. `partial` false
    means every row; else the changes of `parents` (those that ran since this model did), the
    move of the as-of reference (`as_of`: {old, new}, or none) and, for staging, the receive
    `dates` whose input changed. -#}
{% macro reprocessing_plan() -%}
    {#- computed once per model and invocation: the model's SQL, its strategy and its hooks see
        the same plan (nothing it depends on changes while the model runs); kept on dbt's
        graph, the one object they share -#}
    {%- if execute -%}
        {%- set plans = graph.setdefault('respawn_reprocessing_plans', {}) -%}
        {%- set key = invocation_id ~ ':' ~ model.unique_id ~ ':' ~ is_incremental() -%}
        {%- if key not in plans -%}
            {%- do plans.update({key: compute_reprocessing_plan()}) -%}
        {%- endif -%}
        {{ return(plans[key]) }}
    {%- endif -%}
    {{ return(compute_reprocessing_plan()) }}
{%- endmacro %}

{% macro compute_reprocessing_plan() -%}
    {%- set plan = {
        'partial': false, 'parents': [], 'as_of': none, 'dates': [], 'from_date': none,
        'keys_empty': false,
    } -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set cfg = reprocess_config() -%}
    {%- set parents = (cfg.get('parents') or {}).keys() | list -%}
    {%- set names = sql_name_list([this.identifier] + parents) -%}
    {%- set rows = run_query(
        "select model_name, item, value from " ~ reprocessing_state_relation()
        ~ " where model_name in (" ~ names ~ ") union all select distinct model_name,"
        ~ " 'rebuilt', 'true' from " ~ reprocessing_changes_relation()
        ~ " where is_everything and model_name in (" ~ names ~ ")"
    ).rows -%}
    {%- set state = {} -%}
    {%- for row in rows -%}
        {%- do state.setdefault(row[0], {}).update({row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- set mine = state.get(this.identifier) -%}
    {%- if mine is none or mine.get('vars') != reprocess_vars_signature() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set changed = [] -%}
    {%- for parent in parents -%}
        {%- set theirs = state.get(parent, {}) -%}
        {%- set consumed = mine.get('consumed:' ~ parent) -%}
        {%- if theirs.get('batch') is none or consumed is none -%}
            {{ return(plan) }}
        {%- elif consumed == theirs.get('previous_batch') -%}
            {%- if theirs.get('rebuilt') -%}
                {#- its latest run rebuilt every row -#}
                {{ return(plan) }}
            {%- endif -%}
            {%- do changed.append(parent) -%}
        {%- elif consumed != theirs.get('batch') -%}
            {#- the parent ran more than once since: its earlier changes are gone -#}
            {{ return(plan) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if cfg.get('as_of') -%}
        {%- set recorded = mine.get(cfg['as_of']['item']) -%}
        {%- set now = current_as_of() -%}
        {%- if recorded is none or now is none -%}
            {{ return(plan) }}
        {%- elif recorded != now -%}
            {%- do plan.update({'as_of': {'old': recorded, 'new': now}}) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if cfg.get('scope') == 'receive_date' -%}
        {%- set dates = changed_receive_dates(source(*cfg['source'])) -%}
        {%- if dates is none -%}
            {{ return(plan) }}
        {%- endif -%}
        {%- do plan.update({'dates': dates}) -%}
    {%- endif -%}
    {%- do plan.update({'partial': true, 'parents': changed, 'keys_empty': not changed}) -%}
    {%- if cfg.get('scope') in ('user_date', 'user_from_date') and changed -%}
        {#- the earliest day of the key set: a cheap bound on every scan of the run -#}
        {%- set key_column = 'change_date' if cfg['scope'] == 'user_date' else 'from_date' -%}
        {%- do plan.update({'from_date': run_query(
            "select min(" ~ key_column ~ ") from (" ~ reprocess_keys_sql(plan) ~ ") as reprocessed"
        ).columns[0].values()[0]}) -%}
        {%- do plan.update({'keys_empty': plan['from_date'] is none}) -%}
    {%- elif cfg.get('scope') in ('session', 'user') and changed -%}
        {%- do plan.update({'keys_empty': run_query(
            "select count(*) from (" ~ reprocess_keys_sql(plan) ~ ") as reprocessed"
        ).columns[0].values()[0] == 0}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{#- `day >= the key set's earliest day - lookback_days`, a literal the engine filters scans on
    before it joins them to the keys; `true` without such a day. -#}
{% macro reprocess_bound(day, lookback_days=0, plan=none) -%}
    {%- set plan = plan or reprocessing_plan() -%}
    {%- if execute and plan.get('from_date') is not none -%}
        {{ day }} >= cast({{
            dbt.dateadd('day', -1 * lookback_days, "cast('" ~ plan['from_date'] ~ "' as date)")
        }} as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Whether this run recomputes only the keys of its plan (else: every row). -#}
{% macro reprocessing_is_partial() -%}
    {{ return(reprocessing_plan()['partial']) }}
{%- endmacro %}

{#- The key set of this run, as a select: `session_id`; `user_id`; `user_id, change_date`; or
    `user_id, from_date` (the earliest day of the user whose rows may have changed). Ids are
    cast to `ids` (`uuid` or `string`; default: the model's config), to join inputs cheaply. -#}
{% macro reprocess_keys(plan=none, ids=none) -%}
    {%- set plan = plan or reprocessing_plan() -%}
    {%- if execute and reprocess_keys_are_a_table(plan) -%}
        {%- set cfg = reprocess_config() -%}
        {%- set ids = uuid_type() if (ids or cfg.get('ids')) == 'uuid' else dbt.type_string() -%}
        {%- set columns = {
            'session': 'cast(session_id as ' ~ ids ~ ') as session_id',
            'user': 'cast(user_id as ' ~ ids ~ ') as user_id',
            'user_date': 'cast(user_id as ' ~ ids ~ ') as user_id, change_date',
            'user_from_date': 'cast(user_id as ' ~ ids ~ ') as user_id, from_date',
        } -%}
        select {{ columns[cfg['scope']] }} from {{ reprocess_keys_table() }}
    {%- else -%}
        {{ reprocess_keys_sql(plan, ids) }}
    {%- endif -%}
{%- endmacro %}

{#- The CTE `name` of this run's key set (`reprocess_keys`), with its trailing comma; nothing when
    the run recomputes every row. -#}
{% macro reprocessed_cte(plan, ids=none, name='reprocessed') -%}
    {%- if plan['partial'] -%}
        {{ name }} as ({{ reprocess_keys(plan, ids) }}),
    {%- endif -%}
{%- endmacro %}

{#- The run's key set is written once, by the model's pre-hook, to a temporary table that its
    SQL and its strategy read (the keys may cost a join: labels). -#}
{% macro reprocess_keys_are_a_table(plan) -%}
    {{ return(plan['partial'] and not plan.get('keys_empty')
              and reprocess_config().get('scope') != 'receive_date') }}
{%- endmacro %}

{% macro reprocess_keys_table() -%}
    {{ return(this.identifier ~ '__dbt_keys') }}
{%- endmacro %}

{#- Pre-hook of every model (dbt_project.yml); a no-op unless the run replaces a key set. -#}
{% macro prepare_reprocessing() -%}
    {%- if not execute or not reprocess_config() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set plan = reprocessing_plan() -%}
    {%- if reprocess_keys_are_a_table(plan) -%}
        {{ create_temporary_relation_as(reprocess_keys_table(), reprocess_keys_sql(plan, 'string')) }}
    {%- endif -%}
{%- endmacro %}

{% macro reprocess_keys_sql(plan=none, ids=none) -%}
    {%- if not execute -%}
        {#- parsing, or linting: an empty key set -#}
        {{ return(
            "select cast(null as " ~ dbt.type_string() ~ ") as user_id, cast(null as "
            ~ dbt.type_string() ~ ") as session_id, cast(null as date) as change_date,"
            ~ " cast(null as date) as from_date where 1 = 0"
        ) }}
    {%- endif -%}
    {%- set plan = plan or reprocessing_plan() -%}
    {%- set cfg = reprocess_config() -%}
    {%- set kind = cfg['scope'] -%}
    {%- set ids = uuid_type() if (ids or cfg.get('ids')) == 'uuid' else dbt.type_string() -%}
    {%- set changes = reprocessing_changes_relation() -%}
    {%- set parents = plan['parents'] -%}
    {%- if kind == 'session' -%}
        select distinct cast(session_id as {{ ids }}) as session_id
        from {{ changes }}
        where session_id is not null and model_name in ({{ sql_name_list(parents or ['']) }})
    {%- elif kind == 'user' -%}
        select distinct cast(user_id as {{ ids }}) as user_id
        from {{ changes }}
        where user_id is not null and model_name in ({{ sql_name_list(parents or ['']) }})
    {%- elif kind == 'user_date' -%}
        select distinct cast(user_id as {{ ids }}) as user_id, change_date
        from {{ changes }}
        where
            user_id is not null and change_date is not null
            and model_name in ({{ sql_name_list(parents or ['']) }})
    {%- elif kind == 'user_from_date' -%}
        select cast(user_id as {{ ids }}) as user_id, min(from_date) as from_date
        from (
            {%- for parent in parents %}
                {%- set reach = cfg['parents'][parent] %}
                {%- if reach is mapping %}
                    {{ keys_since_previous(parent, reach) }}
                {%- else %}
                    select
                        user_id,
                        cast({{ dbt.dateadd('day', -1 * reach, 'change_date') }} as date)
                            as from_date
                    from {{ changes }}
                    where
                        model_name = {{ sql_literal(parent) }}
                        and user_id is not null and change_date is not null
                {%- endif %}
                {{ 'union all' if not loop.last }}
            {%- else %}
                select
                    cast(null as {{ dbt.type_string() }}) as user_id,
                    cast(null as date) as from_date
                where 1 = 0
            {%- endfor %}
        ) as changed
        group by 1
    {%- else -%}
        {{ exceptions.raise_compiler_error("reprocess scope " ~ kind ~ " has no key set") }}
    {%- endif -%}
{%- endmacro %}

{#- Keys from a parent whose changed day x reaches back `reach.days` days, but no further than
    the user's latest `reach.date` before x in the parent where `reach.where` holds (labels: a
    session day decides the labels back to the previous session day only). Per user, from the
    earliest changed day x0: the later of x0 - days and that previous day (the parent is the same
    before x0 in its old and its new version). -#}
{% macro keys_since_previous(parent, reach) -%}
    {%- set changes = reprocessing_changes_relation() -%}
    {%- set of_parent -%}
        model_name = {{ sql_literal(parent) }} and user_id is not null
        and change_date is not null
    {%- endset -%}
    {%- set reached = dbt.dateadd('day', -1 * reach['days'], 'changed.first_day') -%}
    select
        changed.user_id,
        greatest(
            cast({{ reached }} as date),
            coalesce(max(earlier.{{ reach['date'] }}), cast('1900-01-01' as date))
        ) as from_date
    from (
        select user_id, min(change_date) as first_day
        from {{ changes }}
        where {{ of_parent }}
        group by 1
    ) as changed
    left join {{ ref(parent) }} as earlier
        on
            cast(earlier.user_id as {{ dbt.type_string() }}) = changed.user_id
            and earlier.{{ reach['date'] }} < changed.first_day
            and earlier.{{ reach['date'] }} >= cast({{ reached }} as date)
            and earlier.{{ reach['date'] }} >= (
                select cast({{ dbt.dateadd('day', -1 * reach['days'], 'min(change_date)') }}
                    as date)
                from {{ changes }}
                where {{ of_parent }}
            )
            and {{ reach['where'] }}
    group by changed.user_id, changed.first_day
{%- endmacro %}

{#- An inner join of an input's rows to the key set of CTE `keys` (`reprocess_keys`), so that
    a model reads what its keys need: `user` is a changed user, and `day` the changed day (scope
    user_date) or on or after the user's first changed day minus `lookback_days` (scope
    user_from_date). Nothing when the run recomputes every row. -#}
{% macro join_reprocessed(user, day=none, keys='reprocessed', lookback_days=0, plan=none) -%}
    {%- set plan = plan or reprocessing_plan() -%}
    {%- if not plan['partial'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set kind = reprocess_config().get('scope') if execute else 'user' -%}
    inner join {{ keys }}
        on
            {{ user }} = {{ keys }}.user_id
            {%- if kind == 'user_date' %}
                and {{ day }} = {{ keys }}.change_date
                and {{ reprocess_bound(day, plan=plan) }}
            {%- elif kind == 'user_from_date' and day is not none %}
                and {{ day }} >= cast({{
                    dbt.dateadd('day', -1 * lookback_days, keys ~ '.from_date')
                }} as date)
                and {{ reprocess_bound(day, lookback_days, plan) }}
            {%- endif %}
{%- endmacro %}

{#- A column of the model's rows (config `user`, `session`, `date`) for the row alias `row`: a
    plain column name, or an expression in which `{row}` stands for the alias. -#}
{% macro reprocess_column(name, row) -%}
    {%- set expression = reprocess_config()[name] -%}
    {{ qualified(expression if '{row}' in expression else '{row}.' ~ expression, row) }}
{%- endmacro %}

{#- `expression` with `{row}.` qualifying its columns by the alias `row`, or unqualified. -#}
{% macro qualified(expression, row) -%}
    {{ expression | replace('{row}.', row ~ '.' if row else '') | replace('{row}', row or '') }}
{%- endmacro %}

{#- True for the rows (alias `row`) this run replaces: the same predicate deletes the model's
    rows and selects the recomputed ones, so that exactly the keys of the plan are replaced.
    `part`: `keys` or `as_of` for one of the two parts only (their union is `all`): scans of
    large tables filter on each part alone, cheaper than on a disjunction. -#}
{% macro in_reprocess_scope(row, plan=none, part='all') -%}
    {%- if not execute -%}
        {#- parsing, or linting -#}
        {{ return('true') }}
    {%- endif -%}
    {%- set plan = plan or reprocessing_plan() -%}
    {%- set cfg = reprocess_config() -%}
    {%- set kind = cfg['scope'] -%}
    {%- if not plan['partial'] -%}
        true
    {%- elif part == 'as_of' -%}
        {{ reprocess_as_of_rows(row, plan) }}
    {%- elif plan.get('keys_empty') and kind != 'receive_date' -%}
        {#- no changed key: only the as-of part, if the as-of moved -#}
        {{ 'false' if part == 'keys' else reprocess_as_of_rows(row, plan) }}
    {%- else -%}
        (
        {%- if kind == 'receive_date' -%}
            {%- if plan['dates'] -%}
                {{ qualified('{row}.receive_date', row) }} in (
                    {%- for day in plan['dates'] -%}
                        cast('{{ day }}' as date){{ ", " if not loop.last }}
                    {%- endfor -%}
                )
            {%- else -%}
                false
            {%- endif -%}
        {%- elif kind == 'session' -%}
            {{ reprocess_column('session', row) }} in (
                select reprocessed.session_id from ({{ reprocess_keys(plan) }}) as reprocessed
            )
        {%- elif kind == 'user' -%}
            {{ reprocess_column('user', row) }} in (
                select reprocessed.user_id from ({{ reprocess_keys(plan) }}) as reprocessed
            )
        {%- elif kind == 'user_date' -%}
            {{ reprocess_bound(reprocess_column('date', row), plan=plan) }}
            and exists (
                select 1 from ({{ reprocess_keys(plan) }}) as reprocessed
                where
                    reprocessed.user_id = {{ reprocess_column('user', row) }}
                    and reprocessed.change_date = {{ reprocess_column('date', row) }}
            )
        {%- else -%}
            {{ reprocess_bound(reprocess_column('date', row), plan=plan) }}
            and exists (
                select 1 from ({{ reprocess_keys(plan) }}) as reprocessed
                where
                    reprocessed.user_id = {{ reprocess_column('user', row) }}
                    and {{ reprocess_column('date', row) }} >= reprocessed.from_date
            )
        {%- endif %}
        {%- if part == 'all' %}
            or {{ reprocess_as_of_rows(row, plan) }}
        {%- endif %}
        )
    {%- endif -%}
{%- endmacro %}

{#- The rows (alias `row`) that move when the as-of reference moved from plan.as_of.old to
    .new (config as_of.rows, in which `{row}`, `{old}` and `{new}` stand for them): `false`
    when it did not move. -#}
{% macro reprocess_as_of_rows(row, plan) -%}
    {%- if not plan['as_of'] -%}
        false
    {%- else -%}
        ({{ qualified(reprocess_config()['as_of']['rows'], row)
            | replace('{old}', sql_literal(plan['as_of']['old']))
            | replace('{new}', sql_literal(plan['as_of']['new'])) }})
    {%- endif -%}
{%- endmacro %}

{#- Strategy step: publish the rows this run replaces, in their old version (the model's rows
    in scope) and their new one (the recomputed rows in scope), as (user, session, date) of the
    model's `publish` columns; the children read them. Only these columns of the rows in scope
    are read. A run that replaces every row publishes `is_everything` instead. -#}
{% macro publish_reprocessed(target, computed, plan) -%}
    {#- the list of statements (macros/rewrite_rows.sql) -#}
    {%- set published = reprocess_config()['publish'] -%}
    {%- set changes = reprocessing_changes_relation() -%}
    {%- set me = sql_literal(this.identifier) -%}
    {%- set keys -%}
        cast({{ published.get('user', 'null') }} as {{ dbt.type_string() }}),
        cast({{ published.get('session', 'null') }} as {{ dbt.type_string() }}),
        cast({{ published.get('date', 'null') }} as date)
    {%- endset -%}
    {%- if plan['partial'] -%}
        {%- set rows -%}
            select distinct {{ me }}, false, user_id, session_id, change_date
            from (
                select {{ keys }} from {{ target }} as replaced
                where {{ in_reprocess_scope('replaced', plan, 'keys') }}
                {%- if plan['as_of'] %}
                    union all
                    select {{ keys }} from {{ target }} as replaced
                    where {{ in_reprocess_scope('replaced', plan, 'as_of') }}
                {%- endif %}
                union all
                select {{ keys }} from {{ computed }}
            ) as replaced_rows (user_id, session_id, change_date)
        {%- endset -%}
    {%- else -%}
        {%- set rows = everything_rows(me) -%}
    {%- endif -%}
    {%- set statements = replace_rows(
        changes, 'model_name = ' ~ me, rows, reprocessing_changes_columns(), partition=me,
        whole_partition=true, reads_table=plan['partial']
    ) -%}
    {%- do statements.extend(replace_rows(
        reprocessing_state_relation(), 'model_name = ' ~ me ~ " and item = 'published'",
        'select ' ~ me ~ ", 'published', " ~ sql_literal(invocation_id),
        reprocessing_state_columns(), partition=me
    )) -%}
    {{ return(statements) }}
{%- endmacro %}

{#- The one row of changes that says model `me` (a literal) rebuilt everything. -#}
{% macro everything_rows(me) -%}
    {{ return(
        'select ' ~ me ~ ', true, cast(null as ' ~ dbt.type_string() ~ '), cast(null as '
        ~ dbt.type_string() ~ '), cast(null as date)'
    ) }}
{%- endmacro %}

{#- Post-hook of every model (dbt_project.yml); a no-op for a model without `reprocess`. It
    records this run: its batch (the invocation id) and the one before, the batch of each parent
    it consumed, its vars and as-of reference. A run that did not go through the strategy (a
    full build) publishes `is_everything`. -#}
{% macro record_reprocessing() -%}
    {%- set cfg = reprocess_config() -%}
    {%- if not execute or not cfg -%}
        {{ return('') }}
    {%- endif -%}
    {%- set me = sql_literal(this.identifier) -%}
    {%- set state = reprocessing_state_relation() -%}
    {%- set changes = reprocessing_changes_relation() -%}
    {%- set parents = (cfg.get('parents') or {}).keys() | list -%}
    {%- set batches = {} -%}
    {%- for row in run_query(
        "select model_name, value from " ~ state ~ " where item = 'batch' and model_name in ("
        ~ sql_name_list([this.identifier] + parents) ~ ")"
    ).rows -%}
        {%- do batches.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set published_now = run_query(
        "select count(*) from " ~ state ~ " where model_name = " ~ me
        ~ " and item = 'published' and value = " ~ sql_literal(invocation_id)
    ).columns[0].values()[0] > 0 -%}
    {%- set statements = [] -%}
    {%- if not published_now -%}
        {%- do statements.extend(replace_rows(
            changes, 'model_name = ' ~ me, everything_rows(me), reprocessing_changes_columns(),
            partition=me, whole_partition=true, reads_table=false
        )) -%}
    {%- endif -%}
    {%- set records = [
        [me, sql_literal('batch'), sql_literal(invocation_id)],
        [me, sql_literal('previous_batch'), sql_literal(batches.get(this.identifier))],
    ] -%}
    {%- for parent in parents -%}
        {%- do records.append(
            [me, sql_literal('consumed:' ~ parent), sql_literal(batches.get(parent))]
        ) -%}
    {%- endfor -%}
    {%- if cfg.get('as_of') -%}
        {%- do records.append(
            [me, sql_literal(cfg['as_of']['item']), sql_literal(current_as_of())]
        ) -%}
    {%- endif -%}
    {%- do records.append([me, sql_literal('vars'), sql_literal(reprocess_vars_signature())]) -%}
    {%- set rows = [] -%}
    {%- for record in records -%}
        {#- typed, for the engines that type a union by its first select -#}
        {%- do rows.append(
            'select ' ~ record[0] ~ ', ' ~ record[1] ~ ', cast(' ~ record[2] ~ ' as '
            ~ dbt.type_string() ~ ')'
        ) -%}
    {%- endfor -%}
    {%- do statements.extend(replace_rows(
        state, 'model_name = ' ~ me, rows | join('\n    union all '), reprocessing_state_columns(),
        partition=me, whole_partition=true, reads_table=false
    )) -%}
    {%- if cfg.get('scope') == 'receive_date' -%}
        {%- do statements.extend(
            record_source_fingerprints(source(*cfg['source']), plan=reprocessing_plan())
        ) -%}
    {%- endif -%}
    {{ return(run_statements(statements)) }}
{%- endmacro %}

{#- A data test's `where`: the rows of model `model_name` that its latest run changed (those of
    the users, or for staging the receive dates, in its published changes), or every row when
    that run rebuilt the model. Unchanged rows passed the same tests when they were written, so
    a nightly test reads one night's rows, not the whole table. -#}
{% macro reprocessed_rows(model_name) -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- set cfg = node.config.get('reprocess') if node else none -%}
    {%- if not cfg -%}
        {#- a table rebuilt on every run, or a source -#}
        {{ return('true') }}
    {%- endif -%}
    {%- set changes = reprocessing_changes_relation() -%}
    {%- set of_model = "model_name = " ~ sql_literal(model_name) -%}
    (
        exists (select 1 from {{ changes }} where {{ of_model }} and is_everything)
        {%- if cfg['scope'] == 'receive_date' %}
            or receive_date in (select change_date from {{ changes }} where {{ of_model }})
        {%- elif cfg['scope'] == 'session' %}
            or {{ cfg['session'] }} in (
                select cast(session_id as {{ uuid_type() if cfg.get('ids') == 'uuid'
                    else dbt.type_string() }})
                from {{ changes }}
                where {{ of_model }}
            )
        {%- else %}
            {%- set earliest = none -%}
            {%- if cfg['scope'] in ('user_date', 'user_from_date') -%}
                {#- and not before the earliest day published: a cheap filter on the scan -#}
                {%- set earliest = run_query(
                    "select min(change_date) from " ~ changes ~ " where " ~ of_model
                ).columns[0].values()[0] -%}
            {%- endif %}
            or (
                {{ cfg.get('user', 'user_id') }} in (
                    select cast(user_id as {{ uuid_type() if cfg.get('ids') == 'uuid'
                        else dbt.type_string() }})
                    from {{ changes }}
                    where {{ of_model }}
                )
                {%- if earliest is not none %}
                    and {{ qualified(
                        cfg['date'] if '{row}' in cfg['date'] else '{row}.' ~ cfg['date'], none
                    ) }} >= cast('{{ earliest }}' as date)
                {%- endif %}
            )
        {%- endif %}
    )
{%- endmacro %}
