-- Every session counts once in fct_user_daily_activity, for its user on the day it started, and
-- a day counts no session that fct_sessions does not have. Nightly: the users whose sessions or
-- days the latest runs changed.
with

sessions as (

    select
        user_id,
        started_date as activity_date,
        count(*) as sessions
    from {{ ref('fct_sessions') }}
    where
        {{ reprocessed_rows('fct_sessions') }}
        or {{ reprocessed_rows('fct_user_daily_activity') }}
    group by 1, 2

),

days as (

    select
        user_id,
        activity_date,
        sessions
    from {{ ref('fct_user_daily_activity') }}
    where
        sessions > 0
        and (
            {{ reprocessed_rows('fct_sessions') }}
            or {{ reprocessed_rows('fct_user_daily_activity') }}
        )

)

select
    coalesce(sessions.user_id, days.user_id) as user_id,
    coalesce(sessions.activity_date, days.activity_date) as activity_date,
    sessions.sessions as sessions_started,
    days.sessions as sessions_counted
from sessions
full outer join days
    on sessions.user_id = days.user_id and sessions.activity_date = days.activity_date
where sessions.sessions is distinct from days.sessions
