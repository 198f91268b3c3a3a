{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'user_from_date',
            'ids': 'uuid',
            'user': 'user_id',
            'date': 'event_date',
            'parents': {'int_events_time_corrected': 0},
            'publish': {'user': 'user_id', 'session': 'session_id', 'date': 'event_date'},
        }
    )
}}

{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan) }}

match_reports as (

    -- a user's matches from the first day whose events changed: the numbering before that day
    -- is unchanged, it carries over
    select
        reports.event_id,
        reports.user_id,
        reports.session_id,
        reports.match_id,
        reports.match_result,
        reports.opponent_type,
        reports.match_duration_seconds,
        reports.client_ts,
        reports.received_at,
        reports.event_at,
        reports.event_date
    from {{ ref('int_events_time_corrected') }} as reports
    {{ join_reprocessed('reports.user_id', 'reports.event_date', plan=plan) }}
    where reports.event_name = 'match_played'

),

earlier_matches as (

    -- the user's matches kept before that day
    {% if plan['partial'] -%}
        select
            kept.user_id,
            kept.match_id,
            kept.match_number,
            kept.last_non_loss_match_number
        from {{ this }} as kept
        inner join reprocessed
            on
                kept.user_id = reprocessed.user_id
                and kept.event_date < reprocessed.from_date
    {%- else -%}
        select
            cast(null as {{ uuid_type() }}) as user_id,
            cast(null as {{ uuid_type() }}) as match_id,
            0 as match_number,
            0 as last_non_loss_match_number
        where false
    {%- endif %}

),

carried_state as (

    select
        user_id,
        max(match_number) as matches_before,
        max(last_non_loss_match_number) as last_non_loss_before
    from earlier_matches
    group by 1

),

first_reports as (

    -- a client that re-sends a match under a new event_id reports it twice: keep the first
    select
        user_id,
        match_id,
        {{ min_by('event_id', ['event_at', 'client_ts', 'received_at', 'event_id']) }}
            as event_id
    from match_reports
    group by 1, 2

),

new_matches as (

    select match_reports.*
    from match_reports
    inner join first_reports
        on match_reports.event_id = first_reports.event_id
    left join earlier_matches
        on
            match_reports.user_id = earlier_matches.user_id
            and match_reports.match_id = earlier_matches.match_id
    where earlier_matches.match_id is null

),

ordered as (

    -- the user's matches in event_at order; narrow rows keep the sorts cheap
    select
        new_matches.event_id,
        new_matches.user_id,
        new_matches.match_result != 'loss' as is_non_loss,
        coalesce(carried_state.matches_before, 0)
        + row_number() over (
            partition by new_matches.user_id
            order by new_matches.event_at, new_matches.client_ts, new_matches.event_id
        ) as match_number,
        coalesce(carried_state.last_non_loss_before, 0) as last_non_loss_before
    from new_matches
    left join carried_state
        on new_matches.user_id = carried_state.user_id

),

streaks as (

    select
        event_id,
        match_number,
        case when is_non_loss then match_number end as non_loss_match_number,
        greatest(
            last_non_loss_before,
            coalesce(
                max(case when is_non_loss then match_number end) over (
                    partition by user_id
                    order by match_number
                    rows between unbounded preceding and 1 preceding
                ),
                0
            )
        ) as previous_non_loss_match_number
    from ordered

),

final as (

    select
        new_matches.user_id,
        new_matches.match_id,
        new_matches.session_id,
        new_matches.event_id,
        new_matches.match_result,
        new_matches.opponent_type,
        new_matches.match_duration_seconds,
        new_matches.client_ts,
        new_matches.event_at,
        new_matches.event_date,
        streaks.match_number,
        -- consecutive losses the user brought into this match
        cast(streaks.match_number - 1 - streaks.previous_non_loss_match_number as integer)
            as loss_streak_before,
        -- consecutive losses ending with this match (0 when it is not a loss)
        cast(
            case
                when streaks.non_loss_match_number is null
                    then streaks.match_number - streaks.previous_non_loss_match_number
                else 0
            end as integer
        ) as loss_streak_after,
        coalesce(
            streaks.non_loss_match_number, streaks.previous_non_loss_match_number
        ) as last_non_loss_match_number
    from new_matches
    inner join streaks
        on new_matches.event_id = streaks.event_id

)

select * from final
