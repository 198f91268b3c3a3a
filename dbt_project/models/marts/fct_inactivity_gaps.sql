{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_from_date',
            'user': 'user_id',
            'date': "coalesce(cast({row}.next_started_at as date), cast('9999-12-31' as date))",
            'parents': {'fct_sessions': 0},
            'publish': {'user': 'user_id', 'date': 'cast(next_started_at as date)'},
            'vars': ['long_gap_days'],
            'as_of': {'item': 'as_of_at', 'rows': '{row}.is_open'},
        }
    )
}}

{#- A gap changes when a session from the user's first changed start day on changed: the gaps
    whose next session starts from that day (or that are open), which includes the gap before
    the first such session. -#}
{%- set plan = reprocessing_plan() -%}
{%- set session_order = ['started_at', 'session_id'] %}

with

as_of as (

    select as_of_at from {{ ref('int_as_of_dates') }}

),

sessions as (

    select
        user_id,
        session_id,
        started_at,
        ended_at,
        started_date
    from {{ ref('fct_sessions') }}

),

{% if plan['partial'] -%}

    reprocessed as (

        {{ reprocess_keys(plan) }}

    ),

    boundary_sessions as (

        -- the last session before the user's first changed start day: its gap's end may move
        select
            sessions.user_id,
            {{ max_by('sessions.session_id', ['sessions.started_at', 'sessions.session_id']) }}
                as session_id
        from sessions
        inner join reprocessed
            on
                sessions.user_id = reprocessed.user_id
                and sessions.started_date < reprocessed.from_date
        group by 1

    ),

    scope as (

        select sessions.*
        from sessions
        inner join reprocessed
            on
                sessions.user_id = reprocessed.user_id
                and sessions.started_date >= reprocessed.from_date
                and {{ reprocess_bound('sessions.started_date', plan=plan) }}
        union all
        select sessions.*
        from sessions
        inner join boundary_sessions
            on sessions.session_id = boundary_sessions.session_id

    ),

{%- else -%}

    scope as (

        select * from sessions

    ),

{%- endif %}

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
        user_id,
        session_id as previous_session_id,
        next_session_id,
        ended_at as previous_ended_at,
        next_started_at
    from ordered
    {% if plan['partial'] and plan['as_of'] -%}
        -- the as-of time moved: every other user's open gap runs to the new one
        union all
        select
            kept.user_id,
            kept.previous_session_id,
            kept.next_session_id,
            kept.previous_ended_at,
            kept.next_started_at
        from {{ this }} as kept
        where
            kept.is_open
            and kept.user_id not in (select reprocessed.user_id from reprocessed)
    {%- endif %}

),

measured as (

    select
        gaps.*,
        coalesce(gaps.next_started_at, as_of.as_of_at) as gap_ended_at,
        gaps.next_session_id is null as is_open,
        coalesce(gaps.next_started_at < gaps.previous_ended_at, false) as is_overlap,
        case
            when coalesce(gaps.next_started_at, as_of.as_of_at) > gaps.previous_ended_at
                then
                    {{ microseconds_between(
                        'gaps.previous_ended_at',
                        'coalesce(gaps.next_started_at, as_of.as_of_at)'
                    ) }}
                    / 1e6
            else 0
        end as gap_seconds
    from gaps
    cross join as_of

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
