with

as_of as (

    select last_complete_day from {{ ref('int_as_of_dates') }}

),

snapshots as (

    select
        user_id,
        snapshot_date
    from {{ ref('int_user_snapshot_dates') }}

),

session_days as (

    select
        {{ dbt.safe_cast('user_id', uuid_type()) }} as user_id,
        activity_date
    from {{ ref('fct_user_daily_activity') }}
    where sessions > 0

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
