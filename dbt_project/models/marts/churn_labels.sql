{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='snapshot_date',
        on_schema_change='fail',
        post_hook="{{ record_input_state(ref('int_events_time_corrected')) }}"
    )
}}

{#- sessions changed from this event date on (or the snapshots after the last run start there) -#}
{%- set changed_from = reprocess_from_date('snapshot_date', lookback_days=-1) -%}
{#- a session on day x decides the labels of x - horizon .. x - 1 -#}
{%- set from_date = "cast(" ~ dbt.dateadd('day', -1 * var('churn_horizon_days'), changed_from)
    ~ " as date)" -%}
{%- if is_incremental() and execute -%}
    {#- censored rows resolve as the last complete day moves: recompute them all -#}
    {%- set first_censored = run_query(
        "select min(snapshot_date) from " ~ this ~ " where is_censored"
    ).columns[0].values()[0] -%}
    {%- if first_censored is not none -%}
        {%- set from_date = "least(" ~ from_date ~ ", cast('" ~ first_censored ~ "' as date))" -%}
    {%- endif -%}
{%- endif %}

-- depends_on: {{ ref('int_events_time_corrected') }}

with

as_of as (

    select last_complete_day from {{ ref('int_as_of_dates') }}

),

snapshots as (

    select
        user_id,
        snapshot_date
    from {{ ref('int_user_snapshot_dates') }}
    where snapshot_date >= {{ from_date }}

),

session_days as (

    select
        {{ dbt.safe_cast('user_id', uuid_type()) }} as user_id,
        activity_date
    from {{ ref('fct_user_daily_activity') }}
    where sessions > 0 and activity_date >= {{ from_date }}

),

timeline as (

    select
        user_id,
        snapshot_date as timeline_date,
        true as is_snapshot,
        false as has_session
    from snapshots
    union all
    select
        user_id,
        activity_date as timeline_date,
        false as is_snapshot,
        true as has_session
    from session_days

),

with_next_session as (

    select
        user_id,
        timeline_date,
        is_snapshot,
        -- the first session day strictly after this day
        min(case when has_session then timeline_date end) over (
            partition by user_id
            order by {{ dbt.datediff("cast('1970-01-01' as date)", 'timeline_date', 'day') }}
            range between 1 following and unbounded following
        ) as next_session_date
    from timeline

),

horizons as (

    select
        with_next_session.user_id,
        with_next_session.timeline_date as snapshot_date,
        with_next_session.next_session_date,
        cast(
            {{ dbt.dateadd(
                'day', var('churn_horizon_days'), 'with_next_session.timeline_date'
            ) }} as date
        ) as label_horizon_end,
        as_of.last_complete_day
    from with_next_session
    cross join as_of
    where with_next_session.is_snapshot

),

final as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        snapshot_date,
        label_horizon_end,
        -- right-censored: the horizon passes the last complete day, the answer is not known yet
        case
            when label_horizon_end > last_complete_day then null
            else coalesce(next_session_date > label_horizon_end, true)
        end as churned,
        label_horizon_end > last_complete_day as is_censored
    from horizons

)

select * from final
