{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_from_date',
            'ids': 'uuid',
            'user': 'user_id',
            'date': 'snapshot_date',
            'parents': {'fct_user_daily_activity': 0},
            'publish': {'user': 'user_id', 'date': 'snapshot_date'},
            'vars': ['eligibility_days'],
            'as_of': {
                'item': 'last_complete_day',
                'rows': "{row}.snapshot_date > least(cast({old} as date), cast({new} as date))",
            },
        }
    )
}}

{#- a snapshot at d depends on the session days d - eligibility_days + 1 .. d: a user's
    snapshots from the first changed session day on; when the last complete day moved, every
    user's snapshots after the earlier of the two. -#}
{%- set plan = reprocessing_plan() -%}
{%- set window_days = var('eligibility_days') - 1 %}

with

as_of as (

    select
        last_complete_day,
        cast({{ dbt.dateadd('day', 1, 'last_complete_day') }} as date) as as_of_date
    from {{ ref('int_as_of_dates') }}

),

{% if plan['partial'] -%}

    reprocessed as (

        select
            changed.user_id,
            min(changed.from_date) as from_date
        from (
            {{ reprocess_keys(plan) }}
            {% if plan['as_of'] -%}
                union all
                select
                    {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
                    cast({{ dbt.dateadd(
                        'day', 1,
                        "least(cast(" ~ sql_literal(plan['as_of']['old']) ~ " as date), cast("
                        ~ sql_literal(plan['as_of']['new']) ~ " as date))"
                    ) }} as date) as from_date
                from {{ ref('fct_user_daily_activity') }} as daily
                where
                    daily.sessions > 0
                    and daily.activity_date > cast({{ dbt.dateadd(
                        'day', -1 * window_days,
                        "least(cast(" ~ sql_literal(plan['as_of']['old']) ~ " as date), cast("
                        ~ sql_literal(plan['as_of']['new']) ~ " as date))"
                    ) }} as date)
            {%- endif %}
        ) as changed
        group by 1

    ),

{%- endif %}

session_days as (

    select
        {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
        daily.activity_date,
        as_of.as_of_date
    from {{ ref('fct_user_daily_activity') }} as daily
    cross join as_of
    {% if plan['partial'] -%}
        inner join reprocessed
            on
                {{ dbt.safe_cast('daily.user_id', uuid_type()) }} = reprocessed.user_id
                and daily.activity_date >= cast({{
                    dbt.dateadd('day', -1 * window_days, 'reprocessed.from_date')
                }} as date)
    {%- endif %}
    where daily.sessions > 0 and daily.activity_date <= as_of.last_complete_day

),

with_next as (

    select
        user_id,
        activity_date,
        -- the next session day takes over; nothing is eligible past the last complete day
        least(
            coalesce(
                lead(activity_date) over (partition by user_id order by activity_date),
                as_of_date
            ),
            as_of_date
        ) as covered_until
    from session_days

),

offsets as (

    {{ integer_series(var('eligibility_days')) }}

),

final as (

    -- a session on day a makes a, a + 1, ..., a + eligibility_days - 1 eligible
    select
        with_next.user_id,
        cast({{ dbt.dateadd('day', 'offsets.n', 'with_next.activity_date') }} as date)
            as snapshot_date
    from with_next
    inner join offsets
        on
            offsets.n
            < {{ dbt.datediff('with_next.activity_date', 'with_next.covered_until', 'day') }}

)

select * from final
