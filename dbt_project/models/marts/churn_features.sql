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
                'fct_sessions': 0,
                'int_matches_deduplicated': 0,
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
{%- set hour = '3600e6' -%}
{#- the rhythm of the last sessions: this many of them -#}
{%- set recent_sessions = 3 -%}
{#- what a new player does in their first hours and days: sessions started within this many
    hours of the first one -#}
{%- set first_hours = [1, 24, 72] -%}
{#- a user's snapshots from the first changed day on; they read the active days of their
    windows, the user's running totals for the rest of the history, and the user's sessions
    (each counted with the matches of its start day, so nothing after a snapshot's end) -#}
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

sessions as (

    -- every session of the users read: the rhythm reads the last ones, the first-hours
    -- features the first ones
    select
        {{ dbt.safe_cast('sessions.user_id', uuid_type()) }} as user_id,
        sessions.session_id,
        sessions.started_at,
        {{ dbt.datediff(day_number, 'sessions.started_date', 'day') }} as day_number
    from {{ ref('fct_sessions') }} as sessions
    {{ join_reprocessed(dbt.safe_cast('sessions.user_id', uuid_type()), plan=plan) }}

),

start_day_matches as (

    -- a session's matches on its start day: known by the end of that day
    select
        matches.session_id,
        count(*) as matches
    from {{ ref('int_matches_deduplicated') }} as matches
    {{ join_reprocessed('matches.user_id', plan=plan) }}
    inner join {{ ref('fct_sessions') }} as started
        on
            {{ dbt.safe_cast('started.session_id', uuid_type()) }} = matches.session_id
            and matches.event_date = started.started_date
    group by 1

),

numbered as (

    select
        sessions.user_id,
        sessions.day_number,
        sessions.started_at,
        coalesce(start_day_matches.matches, 0) as matches,
        row_number() over (
            partition by sessions.user_id
            order by sessions.started_at, sessions.session_id
        ) as session_number,
        min(sessions.started_at) over (partition by sessions.user_id) as first_started_at
    from sessions
    left join start_day_matches
        on {{ dbt.safe_cast('sessions.session_id', uuid_type()) }} = start_day_matches.session_id

),

timed as (

    select
        *,
        {{ microseconds_between('first_started_at', 'started_at') }} / {{ hour }}
            as hours_after_first
    from numbered

),

session_sequence as (

    -- each session with the ones before it: its predecessors' starts and plays, the running
    -- totals, and what the player did in their first hours
    select
        user_id,
        day_number,
        session_number,
        started_at,
        first_started_at,
        matches,
        {% for k in range(1, recent_sessions + 1) -%}
            lag(started_at, {{ k }}) over (
                partition by user_id order by session_number
            ) as started_at_{{ k }}_before,
        {% endfor -%}
        {% for k in range(1, recent_sessions) -%}
            coalesce(
                lag(matches, {{ k }}) over (partition by user_id order by session_number), 0
            ) as matches_{{ k }}_before,
        {% endfor -%}
        sum(matches) over (
            partition by user_id
            order by session_number
            rows between unbounded preceding and current row
        ) as matches_to_date,
        max(case when session_number = 2 then started_at end) over (
            partition by user_id
            order by session_number
            rows between unbounded preceding and current row
        ) as second_started_at,
        max(case when session_number = 1 then matches end) over (
            partition by user_id
            order by session_number
            rows between unbounded preceding and current row
        ) as first_session_matches,
        {% for h in first_hours -%}
            sum(case when hours_after_first < {{ h }} then 1 else 0 end) over (
                partition by user_id
                order by session_number
                rows between unbounded preceding and current row
            ) as sessions_first_{{ h }}h,
        {% endfor -%}
        sum(case when hours_after_first < 24 then matches else 0 end) over (
            partition by user_id
            order by session_number
            rows between unbounded preceding and current row
        ) as matches_first_24h
    from timed

),

last_session_of_day as (

    select
        user_id,
        day_number,
        max(session_number) as session_number
    from session_sequence
    group by 1, 2

),

latest_sessions as (

    -- at each snapshot, the latest session started by its end (on the latest session day)
    select
        session_sequence.*,
        with_state.snapshot_date
    from with_state
    inner join last_session_of_day
        on
            with_state.user_id = last_session_of_day.user_id
            and with_state.last_session_day_number = last_session_of_day.day_number
    inner join session_sequence
        on
            last_session_of_day.user_id = session_sequence.user_id
            and last_session_of_day.session_number = session_sequence.session_number

),

rhythm as (

    select
        latest_sessions.user_id as rhythm_user_id,
        latest_sessions.snapshot_date as rhythm_snapshot_date,
        latest_sessions.session_number as sessions_to_date,
        {{ microseconds_between(
            'latest_sessions.started_at',
            dbt.dateadd('day', 1, 'latest_sessions.snapshot_date')
        ) }} / {{ hour }} as hours_since_last_session,
        coalesce(
            {{ microseconds_between(
                'latest_sessions.started_at_1_before', 'latest_sessions.started_at'
            ) }} / {{ hour }},
            0
        ) as last_session_gap_hours,
        -- the mean time between the last sessions (up to recent_sessions gaps)
        case
            when latest_sessions.session_number > 1
                then
                    {{ microseconds_between(
                        'coalesce(latest_sessions.started_at_' ~ recent_sessions
                        ~ '_before, latest_sessions.first_started_at)',
                        'latest_sessions.started_at'
                    ) }} / {{ hour }}
                    / case
                        when latest_sessions.session_number - 1 < {{ recent_sessions }}
                            then latest_sessions.session_number - 1
                        else {{ recent_sessions }}
                    end
            else 0
        end as recent_session_gap_mean_hours,
        latest_sessions.matches as matches_last_session,
        (
            latest_sessions.matches
            {% for k in range(1, recent_sessions) -%}
                + latest_sessions.matches_{{ k }}_before
            {% endfor -%}
        ) * 1e0 / case
            when latest_sessions.session_number < {{ recent_sessions }}
                then latest_sessions.session_number
            else {{ recent_sessions }}
        end as matches_per_session_recent,
        latest_sessions.matches_to_date * 1e0 / latest_sessions.session_number
            as matches_per_session_to_date,
        {% for h in first_hours -%}
            latest_sessions.sessions_first_{{ h }}h,
        {% endfor -%}
        latest_sessions.matches_first_24h,
        coalesce(latest_sessions.first_session_matches, 0) as first_session_matches,
        coalesce(
            {{ microseconds_between(
                'latest_sessions.first_started_at', 'latest_sessions.second_started_at'
            ) }} / {{ hour }},
            0
        ) as hours_to_second_session
    from latest_sessions

),

derived as (

    select
        with_state.*,
        rhythm.*,
        {{ microseconds_between(
            'with_state.last_event_at_to_date',
            dbt.dateadd('day', 1, 'with_state.snapshot_date')
        ) }} / 86400e6 as current_gap_days,
        case
            when with_state.gaps_closed_to_date > 0
                then
                    with_state.gap_microseconds_closed_to_date / 86400e6
                    / with_state.gaps_closed_to_date
            else 0
        end as gap_mean_days
    from with_state
    inner join rhythm
        on
            with_state.user_id = rhythm.rhythm_user_id
            and with_state.snapshot_date = rhythm.rhythm_snapshot_date

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
            {{ ratio('wins_' ~ n ~ 'd', 'matches_' ~ n ~ 'd') }} as win_rate_{{ n }}d,
            {{ ratio('losses_' ~ n ~ 'd', 'matches_' ~ n ~ 'd') }} as loss_rate_{{ n }}d,
            cast(max_loss_streak_{{ n }}d as integer) as max_loss_streak_{{ n }}d,
            cast(rage_quits_{{ n }}d as integer) as rage_quits_{{ n }}d,
            cast(disconnects_network_{{ n }}d as integer) as disconnects_network_{{ n }}d,
            cast(disconnects_quit_{{ n }}d as integer) as disconnects_quit_{{ n }}d,
            cast(disconnects_crash_{{ n }}d as integer) as disconnects_crash_{{ n }}d,
            {{ ratio('bot_matches_' ~ n ~ 'd', 'matches_' ~ n ~ 'd') }} as bot_share_{{ n }}d,
            match_seconds_{{ n }}d / 60e0 as minutes_played_{{ n }}d,
        {% endfor -%}
        cast(day_number - last_session_day_number as integer) as days_since_last_session,
        cast(gap_mean_days as {{ double_type() }}) as gap_mean_days,
        cast(gap_max_days_to_date as {{ double_type() }}) as gap_max_days,
        cast(current_gap_days as {{ double_type() }}) as current_gap_days,
        {{ ratio('current_gap_days', 'gap_mean_days') }} as current_gap_vs_usual,
        cast(2 * sessions_7d - sessions_14d as integer) as sessions_trend_7d,
        cast(2 * matches_7d - matches_14d as integer) as matches_trend_7d,
        (2 * match_seconds_7d - match_seconds_14d) / 60e0 as minutes_trend_7d,
        cast(
            {{ dbt.datediff('cast(first_event_at_to_date as date)', 'snapshot_date', 'day') }}
            as integer
        ) as tenure_days,
        {% for entry_point in entry_points -%}
            {{ ratio('sessions_' ~ entry_point ~ '_28d', 'sessions_28d') }}
                as entry_share_{{ entry_point }}_28d,
        {% endfor -%}
        cast(loss_streak_to_date as integer) as current_loss_streak,
        -- at the resolution of the data: hours, and the rhythm of the last sessions
        cast(hours_since_last_session as {{ double_type() }}) as hours_since_last_session,
        cast(
            {{ microseconds_between(
                'first_event_at_to_date', dbt.dateadd('day', 1, 'snapshot_date')
            ) }} / {{ hour }} as {{ double_type() }}
        ) as tenure_hours,
        cast(sessions_to_date as integer) as sessions_to_date,
        cast(last_session_gap_hours as {{ double_type() }}) as last_session_gap_hours,
        cast(recent_session_gap_mean_hours as {{ double_type() }}) as recent_session_gap_mean_hours,
        {{ ratio('last_session_gap_hours', 'recent_session_gap_mean_hours') }}
            as session_gap_trend,
        {{ ratio('hours_since_last_session', 'recent_session_gap_mean_hours') }}
            as hours_since_last_session_vs_recent_gap,
        cast(matches_last_session as integer) as matches_last_session,
        cast(matches_per_session_recent as {{ double_type() }}) as matches_per_session_recent,
        cast(matches_per_session_to_date as {{ double_type() }}) as matches_per_session_to_date,
        cast(matches_per_session_recent - matches_per_session_to_date as {{ double_type() }})
            as matches_per_session_trend,
        -- a new player's first hours and days (as far as the snapshot's end has seen them)
        {% for h in first_hours -%}
            cast(sessions_first_{{ h }}h as integer) as sessions_first_{{ h }}h,
        {% endfor -%}
        cast(matches_first_24h as integer) as matches_first_24h,
        cast(first_session_matches as integer) as first_session_matches,
        cast(hours_to_second_session as {{ double_type() }}) as hours_to_second_session
    from derived

)

select * from final
