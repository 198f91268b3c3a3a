-- Every session counts once in fct_user_daily_activity, for its user on the day it started, and
-- a day counts no session that fct_sessions does not have. Nightly: the users whose sessions or
-- days the latest runs replaced, from the earliest day replaced; after a full build, everyone.
{%- set published -%}
    select user_id, change_date, is_everything
    from {{ reprocessing_changes_relation() }}
    where model_name in ('fct_sessions', 'fct_user_daily_activity')
{%- endset -%}
{%- set rebuilt = true -%}
{%- if execute -%}
    {%- set rebuilt = run_query(
        "select coalesce(bool_or(is_everything), false) from (" ~ published ~ ") as published"
    ).columns[0].values()[0] -%}
{%- endif %}

with

checked_users as (

    select
        user_id,
        min(change_date) as from_date
    from ({{ published }}) as published
    where user_id is not null
    group by 1

),

sessions as (

    select
        sessions.user_id,
        sessions.started_date as activity_date,
        count(*) as sessions
    from {{ ref('fct_sessions') }} as sessions
    {% if not rebuilt -%}
        inner join checked_users
            on
                sessions.user_id = checked_users.user_id
                and sessions.started_date >= checked_users.from_date
    {%- endif %}
    group by 1, 2

),

days as (

    select
        days.user_id,
        days.activity_date,
        days.sessions
    from {{ ref('fct_user_daily_activity') }} as days
    {% if not rebuilt -%}
        inner join checked_users
            on
                days.user_id = checked_users.user_id
                and days.activity_date >= checked_users.from_date
    {%- endif %}
    where days.sessions > 0

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
