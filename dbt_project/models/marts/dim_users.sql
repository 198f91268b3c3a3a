{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user',
            'user': 'user_id',
            'parents': {'fct_user_daily_activity': 0, 'fct_sessions': 0},
            'publish': {'user': 'user_id'},
        }
    )
}}

{#- a user's row sums their whole history: the users whose days or sessions changed -#}
{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan) }}

daily as (

    select daily.* from {{ ref('fct_user_daily_activity') }} as daily
    {{ join_reprocessed('daily.user_id', plan=plan) }}

),

sessions as (

    select
        sessions.user_id,
        min(sessions.started_at) as first_session_at,
        max(sessions.started_at) as last_session_at,
        -- the first session's entry point: null when that session sent no session_start
        {{ min_by('sessions.entry_point', ['sessions.started_at', 'sessions.session_id']) }}
            as first_entry_point
    from {{ ref('fct_sessions') }} as sessions
    {{ join_reprocessed('sessions.user_id', plan=plan) }}
    group by 1

),

lifetime as (

    select
        user_id,
        min(first_event_at) as first_seen_at,
        max(last_event_at) as last_seen_at,
        count(*) as active_days,
        sum(sessions) as sessions,
        sum(matches) as matches,
        sum(wins) as wins,
        sum(losses) as losses,
        sum(match_seconds) as match_seconds,
        sum(rage_quits) as rage_quits,
        sum(disconnects_network) as disconnects_network,
        sum(disconnects_quit) as disconnects_quit,
        sum(disconnects_crash) as disconnects_crash
    from daily
    group by 1

),

final as (

    select
        lifetime.user_id,
        lifetime.first_seen_at,
        cast(lifetime.first_seen_at as date) as install_date,
        cast({{ dbt.date_trunc('week', 'lifetime.first_seen_at') }} as date)
            as install_cohort_week,
        lifetime.last_seen_at,
        sessions.first_session_at,
        sessions.last_session_at,
        sessions.first_entry_point,
        cast(lifetime.active_days as integer) as active_days,
        cast(lifetime.sessions as integer) as sessions,
        cast(lifetime.matches as integer) as matches,
        cast(lifetime.wins as integer) as wins,
        cast(lifetime.losses as integer) as losses,
        case
            when lifetime.matches > 0 then lifetime.wins * 1e0 / lifetime.matches else 0
        end as win_rate,
        lifetime.match_seconds / 60e0 as minutes_played,
        cast(lifetime.rage_quits as integer) as rage_quits,
        cast(lifetime.disconnects_network as integer) as disconnects_network,
        cast(lifetime.disconnects_quit as integer) as disconnects_quit,
        cast(lifetime.disconnects_crash as integer) as disconnects_crash
    from lifetime
    left join sessions
        on lifetime.user_id = sessions.user_id

)

select * from final
