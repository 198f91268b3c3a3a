{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_from_date',
            'ids': 'uuid',
            'user': 'user_id',
            'date': 'activity_date',
            'parents': {'fct_user_daily_activity': 0, 'fct_inactivity_gaps': 0},
            'publish': {'user': 'user_id', 'date': 'activity_date'},
        }
    )
}}

{#- A row at day x sums the user's history up to x: from a user's first changed day on, the
    rows are recomputed from the row before it (carried) and the days since. -#}
{%- set plan = reprocessing_plan() -%}
{%- set day_number = "cast('1970-01-01' as date)" -%}
{%- set to_date -%}
    over (
        partition by user_id
        order by day_number
        rows between unbounded preceding and current row
    )
{%- endset %}

with

{{ reprocessed_cte(plan) }}

{% if plan['partial'] -%}
    carried_days as (

        -- the user's last row before the changed day: the history up to the day before
        select
            earlier.user_id,
            max(earlier.activity_date) as activity_date
        from {{ this }} as earlier
        inner join reprocessed
            on
                earlier.user_id = reprocessed.user_id
                and earlier.activity_date < reprocessed.from_date
        group by 1

    ),
{%- endif %}

daily as (

    select
        {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
        daily.activity_date,
        {{ dbt.datediff(day_number, 'daily.activity_date', 'day') }} as day_number,
        daily.sessions,
        daily.first_event_at,
        daily.last_event_at,
        daily.loss_streak_at_day_end
    from {{ ref('fct_user_daily_activity') }} as daily
    {{ join_reprocessed(
        dbt.safe_cast('daily.user_id', uuid_type()), 'daily.activity_date', plan=plan
    ) }}

),

closed_gaps as (

    -- a gap is known once the session that closes it has started
    select
        {{ dbt.safe_cast('gaps.user_id', uuid_type()) }} as user_id,
        cast(gaps.next_started_at as date) as activity_date,
        count(*) as gaps_closed,
        -- summed in whole microseconds: exact, whatever the order of the rows
        sum(cast(round(gaps.gap_seconds * 1000000) as bigint)) as gap_microseconds_closed,
        max(gaps.gap_days) as gap_days_max
    from {{ ref('fct_inactivity_gaps') }} as gaps
    {{ join_reprocessed(
        dbt.safe_cast('gaps.user_id', uuid_type()), 'cast(gaps.next_started_at as date)',
        plan=plan
    ) }}
    where not gaps.is_open
    group by 1, 2

),

days as (

    -- what each day adds to the user's history
    select
        daily.user_id,
        daily.activity_date,
        daily.day_number,
        false as is_carried,
        case when daily.sessions > 0 then daily.day_number end as session_day_number,
        daily.last_event_at,
        daily.first_event_at,
        closed_gaps.gaps_closed,
        closed_gaps.gap_microseconds_closed,
        closed_gaps.gap_days_max,
        daily.loss_streak_at_day_end
    from daily
    left join closed_gaps
        on
            daily.user_id = closed_gaps.user_id
            and daily.activity_date = closed_gaps.activity_date
    {% if plan['partial'] -%}
        union all
        select
            kept.user_id,
            kept.activity_date,
            kept.day_number,
            true as is_carried,
            kept.last_session_day_number,
            kept.last_event_at_to_date,
            kept.first_event_at_to_date,
            kept.gaps_closed_to_date,
            kept.gap_microseconds_closed_to_date,
            kept.gap_max_days_to_date,
            kept.loss_streak_to_date
        from {{ this }} as kept
        inner join carried_days
            on
                kept.user_id = carried_days.user_id
                and kept.activity_date = carried_days.activity_date
    {%- endif %}

),

to_date as (

    select
        user_id,
        activity_date,
        day_number,
        is_carried,
        max(session_day_number) {{ to_date }} as last_session_day_number,
        max(last_event_at) {{ to_date }} as last_event_at_to_date,
        min(first_event_at) {{ to_date }} as first_event_at_to_date,
        coalesce(sum(gaps_closed) {{ to_date }}, 0) as gaps_closed_to_date,
        coalesce(sum(gap_microseconds_closed) {{ to_date }}, 0)
            as gap_microseconds_closed_to_date,
        coalesce(max(gap_days_max) {{ to_date }}, 0) as gap_max_days_to_date,
        coalesce(
            {{ last_non_null('loss_streak_at_day_end', 'user_id', 'day_number') }}, 0
        ) as loss_streak_to_date
    from days

),

final as (

    select
        user_id,
        activity_date,
        day_number,
        last_session_day_number,
        last_event_at_to_date,
        first_event_at_to_date,
        cast(gaps_closed_to_date as bigint) as gaps_closed_to_date,
        cast(gap_microseconds_closed_to_date as bigint) as gap_microseconds_closed_to_date,
        gap_max_days_to_date,
        cast(loss_streak_to_date as integer) as loss_streak_to_date
    from to_date
    where not is_carried

)

select * from final
