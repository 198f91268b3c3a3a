{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_date',
            'user': 'user_id',
            'date': 'activity_date',
            'parents': {
                'int_events_time_corrected': 0,
                'int_matches_deduplicated': 0,
                'fct_sessions': 0,
                'fct_rage_quits': 0,
            },
            'publish': {'user': 'user_id', 'date': 'activity_date'},
        }
    )
}}

{#- a (user, day) row depends on that user's events, matches, session starts and rage quits of
    that day only: the days whose inputs changed are recomputed -#}
{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan, ids='uuid') }}

{{ reprocessed_cte(plan, ids='string', name='reprocessed_ids') }}

session_days as (

    select
        {{ dbt.safe_cast('sessions.user_id', uuid_type()) }} as user_id,
        sessions.started_date as activity_date,
        cast(count(*) as integer) as sessions,
        {{ count_where("sessions.entry_point = 'lobby'") }} as sessions_lobby,
        {{ count_where("sessions.entry_point = 'matchmaking'") }} as sessions_matchmaking,
        {{ count_where("sessions.entry_point = 'invite'") }} as sessions_invite
    from {{ ref('fct_sessions') }} as sessions
    {{ join_reprocessed(
        'sessions.user_id', 'sessions.started_date', keys='reprocessed_ids', plan=plan
    ) }}
    group by 1, 2

),

match_days as (

    select
        matches.user_id,
        matches.event_date as activity_date,
        cast(count(*) as integer) as matches,
        {{ count_where("matches.match_result = 'win'") }} as wins,
        {{ count_where("matches.match_result = 'loss'") }} as losses,
        {{ count_where("matches.match_result = 'disconnect'") }} as match_disconnects,
        {{ count_where("matches.opponent_type = 'bot'") }} as bot_matches,
        cast(sum(matches.match_duration_seconds) as bigint) as match_seconds,
        cast(max(matches.loss_streak_after) as integer) as max_loss_streak,
        -- streak numbers only grow with match_number, so the day's last match has the maxima
        cast(max(matches.match_number) - max(matches.last_non_loss_match_number) as integer)
            as loss_streak_at_day_end
    from {{ ref('int_matches_deduplicated') }} as matches
    {{ join_reprocessed('matches.user_id', 'matches.event_date', plan=plan) }}
    group by 1, 2

),

event_days as (

    select
        events.user_id,
        events.event_date as activity_date,
        min(events.event_at) as first_event_at,
        max(events.event_at) as last_event_at,
        cast(count(*) as integer) as events,
        {{ count_where("events.disconnect_reason = 'network'") }} as disconnects_network,
        {{ count_where("events.disconnect_reason = 'quit'") }} as disconnects_quit,
        {{ count_where("events.disconnect_reason = 'crash'") }} as disconnects_crash
    from {{ ref('int_events_time_corrected') }} as events
    {{ join_reprocessed('events.user_id', 'events.event_date', plan=plan) }}
    group by 1, 2

),

rage_quit_days as (

    select
        {{ dbt.safe_cast('rage_quits.user_id', uuid_type()) }} as user_id,
        rage_quits.rage_quit_date as activity_date,
        cast(count(*) as integer) as rage_quits
    from {{ ref('fct_rage_quits') }} as rage_quits
    {{ join_reprocessed(
        'rage_quits.user_id', 'rage_quits.rage_quit_date', keys='reprocessed_ids', plan=plan
    ) }}
    group by 1, 2

),

final as (

    -- every day with a valid event; a session counts on its start day, a match, disconnect
    -- or rage quit on the day it happened (was complete)
    select
        cast(event_days.user_id as {{ dbt.type_string() }}) as user_id,
        event_days.activity_date,
        event_days.first_event_at,
        event_days.last_event_at,
        event_days.events,
        event_days.disconnects_network,
        event_days.disconnects_quit,
        event_days.disconnects_crash,
        match_days.loss_streak_at_day_end,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.sessions_lobby, 0) as sessions_lobby,
        coalesce(session_days.sessions_matchmaking, 0) as sessions_matchmaking,
        coalesce(session_days.sessions_invite, 0) as sessions_invite,
        coalesce(match_days.matches, 0) as matches,
        coalesce(match_days.wins, 0) as wins,
        coalesce(match_days.losses, 0) as losses,
        coalesce(match_days.match_disconnects, 0) as match_disconnects,
        coalesce(match_days.bot_matches, 0) as bot_matches,
        coalesce(match_days.match_seconds, 0) as match_seconds,
        coalesce(match_days.match_seconds, 0) / 60e0 as minutes_played,
        coalesce(match_days.max_loss_streak, 0) as max_loss_streak,
        coalesce(rage_quit_days.rage_quits, 0) as rage_quits
    from event_days
    left join session_days
        on
            event_days.user_id = session_days.user_id
            and event_days.activity_date = session_days.activity_date
    left join match_days
        on
            event_days.user_id = match_days.user_id
            and event_days.activity_date = match_days.activity_date
    left join rage_quit_days
        on
            event_days.user_id = rage_quit_days.user_id
            and event_days.activity_date = rage_quit_days.activity_date

)

select * from final
