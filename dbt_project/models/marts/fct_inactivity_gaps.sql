with

sessions as (

    select
        user_id,
        session_id,
        started_at,
        ended_at
    from {{ ref('fct_sessions') }}

),

as_of as (

    select as_of_at from {{ ref('int_as_of_dates') }}

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
    from sessions

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
        gap_seconds / 86400.0 as gap_days,
        is_open,
        is_overlap,
        gap_seconds >= 86400.0 * {{ var('long_gap_days') }} as is_long_gap
    from measured

)

select * from final
