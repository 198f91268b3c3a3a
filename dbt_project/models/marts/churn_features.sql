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
                'int_user_running_totals': 0,
                'fct_user_daily_activity': 0,
            },
            'publish': {'user': 'user_id', 'date': 'snapshot_date'},
            'vars': ['eligibility_days'],
        }
    )
}}

{%- set windows = [1, 3, 7, 14, 28] -%}
{%- set summed = [
    'sessions', 'matches', 'wins', 'losses', 'bot_matches', 'rage_quits',
    'disconnects_network', 'disconnects_quit', 'disconnects_crash', 'match_seconds',
    'sessions_lobby', 'sessions_matchmaking', 'sessions_invite'
] -%}
{%- set entry_points = ['lobby', 'matchmaking', 'invite'] -%}
{#- every eligible snapshot has a session, hence an active day, within this many days -#}
{%- set lookback_days = [28, var('eligibility_days')] | max -%}
{%- set day_number = "cast('1970-01-01' as date)" -%}
{%- set whole_history -%}
    over (
        partition by user_id
        order by day_number
        rows between unbounded preceding and current row
    )
{%- endset -%}
{#- a user's snapshots from the first changed day on; they read the active days of their
    windows, and the user's running totals for the rest of the history -#}
{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan, ids='uuid') }}

snapshots as (

    select
        snapshots.user_id,
        snapshots.snapshot_date,
        {{ dbt.datediff(day_number, 'snapshots.snapshot_date', 'day') }} as day_number
    from {{ ref('int_user_snapshot_dates') }} as snapshots
    {{ join_reprocessed('snapshots.user_id', 'snapshots.snapshot_date', plan=plan) }}

),

daily as (

    select
        {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
        daily.activity_date,
        {% for column in summed -%}
            daily.{{ column }},
        {% endfor -%}
        daily.max_loss_streak,
        {{ dbt.datediff(day_number, 'daily.activity_date', 'day') }} as day_number
    from {{ ref('fct_user_daily_activity') }} as daily
    {{ join_reprocessed(
        dbt.safe_cast('daily.user_id', uuid_type()), 'daily.activity_date',
        lookback_days=lookback_days - 1, plan=plan
    ) }}

),

daily_state as (

    -- what is known about the user at the end of each active day, whole history included
    select
        totals.user_id,
        totals.day_number,
        totals.last_session_day_number,
        totals.last_event_at_to_date,
        totals.first_event_at_to_date,
        totals.gaps_closed_to_date,
        totals.gap_microseconds_closed_to_date,
        totals.gap_max_days_to_date,
        totals.loss_streak_to_date
    from {{ ref('int_user_running_totals') }} as totals
    {{ join_reprocessed(
        'totals.user_id', 'totals.activity_date', lookback_days=lookback_days - 1, plan=plan
    ) }}

),

recent_days as (

    -- running sums over the days read: a window's sum is the difference of two of them
    select
        user_id,
        day_number,
        max_loss_streak,
        {% for column in summed -%}
            {{ column }},
            sum({{ column }}) {{ whole_history }} as {{ column }}_through,
        {% endfor -%}
        activity_date
    from daily

),

windowed as (

    -- for each snapshot, the active days of its windows (nothing after d): the latest, the
    -- first of each window, and the longest loss streaks
    select
        snapshots.user_id,
        snapshots.snapshot_date,
        snapshots.day_number,
        max(recent_days.day_number) as last_day_number,
        {% for n in windows if n > 1 -%}
            min(
                case
                    when recent_days.day_number > snapshots.day_number - {{ n }}
                        then recent_days.day_number
                end
            ) as first_day_number_{{ n }}d,
            max(
                case
                    when recent_days.day_number > snapshots.day_number - {{ n }}
                        then recent_days.max_loss_streak
                    else 0
                end
            ) as max_loss_streak_{{ n }}d,
        {% endfor -%}
        count(*) as active_days_in_lookback
    from snapshots
    inner join recent_days
        on
            snapshots.user_id = recent_days.user_id
            and recent_days.day_number
            between snapshots.day_number - {{ lookback_days - 1 }} and snapshots.day_number
    group by 1, 2, 3

),

with_state as (

    select
        windowed.*,
        {% for column in summed -%}
            coalesce(snapshot_day.{{ column }}, 0) as {{ column }}_1d,
            {% for n in windows if n > 1 -%}
                coalesce(
                    last_day.{{ column }}_through
                    - first_day_{{ n }}d.{{ column }}_through
                    + first_day_{{ n }}d.{{ column }},
                    0
                ) as {{ column }}_{{ n }}d,
            {% endfor -%}
        {% endfor -%}
        coalesce(snapshot_day.max_loss_streak, 0) as max_loss_streak_1d,
        -- what is known about the user at the end of the latest active day up to d
        daily_state.last_session_day_number,
        daily_state.last_event_at_to_date,
        daily_state.first_event_at_to_date,
        daily_state.gaps_closed_to_date,
        daily_state.gap_microseconds_closed_to_date,
        daily_state.gap_max_days_to_date,
        daily_state.loss_streak_to_date
    from windowed
    inner join daily_state
        on
            windowed.user_id = daily_state.user_id
            and windowed.last_day_number = daily_state.day_number
    inner join recent_days as last_day
        on
            windowed.user_id = last_day.user_id
            and windowed.last_day_number = last_day.day_number
    {% for n in windows if n > 1 -%}
        left join recent_days as first_day_{{ n }}d
            on
                windowed.user_id = first_day_{{ n }}d.user_id
                and windowed.first_day_number_{{ n }}d = first_day_{{ n }}d.day_number
    {% endfor -%}
    left join recent_days as snapshot_day
        on
            windowed.user_id = snapshot_day.user_id
            and windowed.day_number = snapshot_day.day_number

),

derived as (

    select
        *,
        {{ microseconds_between(
            'last_event_at_to_date',
            dbt.dateadd('day', 1, 'snapshot_date')
        ) }} / 86400e6 as current_gap_days,
        case
            when gaps_closed_to_date > 0
                then gap_microseconds_closed_to_date / 86400e6 / gaps_closed_to_date
            else 0
        end as gap_mean_days
    from with_state

),

final as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        snapshot_date,
        {% for n in windows -%}
            cast(sessions_{{ n }}d as integer) as sessions_{{ n }}d,
            cast(matches_{{ n }}d as integer) as matches_{{ n }}d,
            cast(wins_{{ n }}d as integer) as wins_{{ n }}d,
            cast(losses_{{ n }}d as integer) as losses_{{ n }}d,
            case
                when matches_{{ n }}d > 0 then wins_{{ n }}d * 1e0 / matches_{{ n }}d else 0
            end as win_rate_{{ n }}d,
            case
                when matches_{{ n }}d > 0 then losses_{{ n }}d * 1e0 / matches_{{ n }}d else 0
            end as loss_rate_{{ n }}d,
            cast(max_loss_streak_{{ n }}d as integer) as max_loss_streak_{{ n }}d,
            cast(rage_quits_{{ n }}d as integer) as rage_quits_{{ n }}d,
            cast(disconnects_network_{{ n }}d as integer) as disconnects_network_{{ n }}d,
            cast(disconnects_quit_{{ n }}d as integer) as disconnects_quit_{{ n }}d,
            cast(disconnects_crash_{{ n }}d as integer) as disconnects_crash_{{ n }}d,
            case
                when matches_{{ n }}d > 0 then bot_matches_{{ n }}d * 1e0 / matches_{{ n }}d
                else 0
            end as bot_share_{{ n }}d,
            match_seconds_{{ n }}d / 60e0 as minutes_played_{{ n }}d,
        {% endfor -%}
        cast(day_number - last_session_day_number as integer) as days_since_last_session,
        cast(gap_mean_days as {{ double_type() }}) as gap_mean_days,
        cast(gap_max_days_to_date as {{ double_type() }}) as gap_max_days,
        cast(current_gap_days as {{ double_type() }}) as current_gap_days,
        case
            when gap_mean_days > 0 then current_gap_days / gap_mean_days else 0
        end as current_gap_vs_usual,
        cast(2 * sessions_7d - sessions_14d as integer) as sessions_trend_7d,
        cast(2 * matches_7d - matches_14d as integer) as matches_trend_7d,
        (2 * match_seconds_7d - match_seconds_14d) / 60e0 as minutes_trend_7d,
        cast(
            {{ dbt.datediff('cast(first_event_at_to_date as date)', 'snapshot_date', 'day') }}
            as integer
        ) as tenure_days,
        {% for entry_point in entry_points -%}
            case
                when sessions_28d > 0 then sessions_{{ entry_point }}_28d * 1e0 / sessions_28d
                else 0
            end as entry_share_{{ entry_point }}_28d,
        {% endfor -%}
        cast(loss_streak_to_date as integer) as current_loss_streak
    from derived

)

select * from final
