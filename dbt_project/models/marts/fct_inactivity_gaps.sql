{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='previous_session_id',
        on_schema_change='fail',
        post_hook="{{ record_input_state(ref('int_events_time_corrected')) }}"
    )
}}

{%- set from_date = reprocess_from_date('cast(previous_ended_at as date)') -%}
{%- set session_order = ['started_at', 'session_id'] %}

-- depends_on: {{ ref('int_events_time_corrected') }}

with

sessions as (

    select
        user_id,
        session_id,
        started_at,
        ended_at,
        started_date
    from {{ ref('fct_sessions') }}

),

as_of as (

    select as_of_at from {{ ref('int_as_of_dates') }}

),

recent_sessions as (

    -- sessions that changed or arrived since the last run (all of them on a full build)
    select * from sessions
    where started_date >= {{ from_date }}

),

touched_users as (

    select distinct user_id from recent_sessions

),

reopened_sessions as (

    -- the session before a user's first recent one: the gap after it now has an end
    select
        sessions.user_id,
        {{ max_by('sessions.session_id', session_order) }} as session_id
    from sessions
    inner join touched_users
        on sessions.user_id = touched_users.user_id
    where sessions.started_date < {{ from_date }}
    group by 1

),

last_sessions as (

    -- every user's last session: its open gap runs to the as-of time, which moved
    select
        user_id,
        {{ max_by('session_id', session_order) }} as session_id
    from sessions
    group by 1

),

scope as (

    select * from sessions
    where
        started_date >= {{ from_date }}
        {% if is_incremental() -%}
            or session_id in (select reopened.session_id from reopened_sessions as reopened)
            or session_id in (select latest.session_id from last_sessions as latest)
        {%- endif %}

),

ordered as (

    select
        *,
        lead(session_id) over (
            partition by user_id order by started_at, session_id
        ) as next_session_id,
        lead(started_at) over (
            partition by user_id order by started_at, session_id
        ) as next_started_at
    from scope

),

gaps as (

    -- every session opens a gap; the last one of a user stays open until the as-of time
    select
        ordered.user_id,
        ordered.session_id as previous_session_id,
        ordered.next_session_id,
        ordered.ended_at as previous_ended_at,
        ordered.next_started_at,
        coalesce(ordered.next_started_at, as_of.as_of_at) as gap_ended_at,
        ordered.next_session_id is null as is_open,
        coalesce(ordered.next_started_at < ordered.ended_at, false) as is_overlap
    from ordered
    cross join as_of

),

measured as (

    select
        *,
        case
            when gap_ended_at > previous_ended_at
                then
                    {{ dbt.datediff('previous_ended_at', 'gap_ended_at', 'microsecond') }}
                    / 1000000.0
            else 0
        end as gap_seconds
    from gaps

),

final as (

    select
        user_id,
        previous_session_id,
        next_session_id,
        previous_ended_at,
        next_started_at,
        gap_ended_at,
        gap_seconds,
        is_open,
        is_overlap,
        gap_seconds / 86400.0 as gap_days,
        gap_seconds >= 86400.0 * {{ var('long_gap_days') }} as is_long_gap
    from measured

)

select * from final
