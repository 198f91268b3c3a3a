{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_from_date',
            'user': 'user_id',
            'date': 'snapshot_date',
            'parents': {
                'int_user_snapshot_dates': 0,
                'fct_user_daily_activity': {
                    'days': var('churn_horizon_days'),
                    'date': 'activity_date',
                    'where': 'earlier.sessions > 0',
                },
            },
            'publish': {'user': 'user_id', 'date': 'snapshot_date'},
            'vars': ['churn_horizon_days'],
            'as_of': {
                'item': 'last_complete_day',
                'rows': "{row}.snapshot_date > " ~ dbt.dateadd(
                    'day', -1 * var('churn_horizon_days'),
                    "least(cast({old} as date), cast({new} as date))"
                ) ~ " and {row}.snapshot_date <= " ~ dbt.dateadd(
                    'day', -1 * var('churn_horizon_days'),
                    "greatest(cast({old} as date), cast({new} as date))"
                ),
            },
        }
    )
}}

{#- A label at d depends on the user's session days in (d, d + churn_horizon_days] and, for
    censoring, on the last complete day: a session day x changes the labels of
    x - churn_horizon_days .. x - 1, and of those only the ones after the user's previous
    session day (before it, that session already is the next one: config parents); a move of
    the last complete day resolves the labels whose horizon it passed (config as_of). -#}
{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan, ids='uuid') }}

as_of as (

    select last_complete_day from {{ ref('int_as_of_dates') }}

),

snapshots as (

    select
        snapshots.user_id,
        snapshots.snapshot_date
    from {{ ref('int_user_snapshot_dates') }} as snapshots
    {% if plan['partial'] -%}
        left join reprocessed
            on snapshots.user_id = reprocessed.user_id
        where
            (
                snapshots.snapshot_date >= reprocessed.from_date
                and {{ reprocess_bound('snapshots.snapshot_date', plan=plan) }}
            )
            -- the labels whose censoring the move of the last complete day changed
            or {{ reprocess_as_of_rows('snapshots', plan) }}
    {%- endif %}

),

{% if plan['partial'] -%}
    labelled_users as (

        -- the session days after a user's first recomputed snapshot decide its labels
        select
            user_id,
            min(snapshot_date) as snapshot_date
        from snapshots
        group by 1

    ),
{%- endif %}

session_days as (

    select
        {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
        daily.activity_date
    from {{ ref('fct_user_daily_activity') }} as daily
    {% if plan['partial'] -%}
        inner join labelled_users
            on
                {{ dbt.safe_cast('daily.user_id', uuid_type()) }} = labelled_users.user_id
                and daily.activity_date > labelled_users.snapshot_date
    {%- endif %}
    where daily.sessions > 0

),

timeline as (

    select
        user_id,
        snapshot_date as timeline_date,
        true as is_snapshot,
        false as has_session
    from snapshots
    union all
    select
        user_id,
        activity_date as timeline_date,
        false as is_snapshot,
        true as has_session
    from session_days

),

with_next_session as (

    select
        user_id,
        timeline_date,
        is_snapshot,
        -- the first session day strictly after this day
        min(case when has_session then timeline_date end) over (
            partition by user_id
            order by {{ dbt.datediff("cast('1970-01-01' as date)", 'timeline_date', 'day') }}
            range between 1 following and unbounded following
        ) as next_session_date
    from timeline

),

horizons as (

    select
        with_next_session.user_id,
        with_next_session.timeline_date as snapshot_date,
        with_next_session.next_session_date,
        cast(
            {{ dbt.dateadd(
                'day', var('churn_horizon_days'), 'with_next_session.timeline_date'
            ) }} as date
        ) as label_horizon_end,
        as_of.last_complete_day
    from with_next_session
    cross join as_of
    where with_next_session.is_snapshot

),

final as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        snapshot_date,
        label_horizon_end,
        -- right-censored: the horizon passes the last complete day, the answer is not known yet
        case
            when label_horizon_end > last_complete_day then null
            else coalesce(next_session_date > label_horizon_end, true)
        end as churned,
        label_horizon_end > last_complete_day as is_censored
    from horizons

)

select * from final
