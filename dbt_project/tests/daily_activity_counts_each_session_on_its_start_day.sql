-- Every session counts once in fct_user_daily_activity, for its user on the day it started, and
-- a day counts no session that fct_sessions does not have. Nightly: the users whose sessions or
-- days the latest runs replaced, from the earliest day replaced; after a full build, everyone.
-- It reads two models: the meta names the one Dagster shows it on, as an asset check.
{{ config(meta={'dagster': {'ref': {'name': 'fct_user_daily_activity'}}}) }}
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

counted as (

    -- each session on its start day (started), each day's session count (counted)
    select
        user_id,
        started_date as activity_date,
        1 as started,
        0 as counted
    from {{ ref('fct_sessions') }}
    union all
    select
        user_id,
        activity_date,
        0 as started,
        sessions as counted
    from {{ ref('fct_user_daily_activity') }}
    where sessions > 0

)

select
    counted.user_id,
    counted.activity_date,
    sum(counted.started) as sessions_started,
    sum(counted.counted) as sessions_counted
from counted
{% if not rebuilt -%}
    inner join checked_users
        on
            counted.user_id = checked_users.user_id
            and counted.activity_date >= checked_users.from_date
{%- endif %}
group by 1, 2
having sum(counted.started) != sum(counted.counted)
