{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        on_schema_change='fail',
        post_hook="{{ record_input_state(ref('int_events_time_corrected')) }}"
    )
}}

{%- set from_date = reprocess_from_date('event_date') -%}

with

match_reports as (

    select
        event_id,
        user_id,
        session_id,
        match_id,
        match_result,
        opponent_type,
        match_duration_seconds,
        client_ts,
        received_at,
        event_at,
        event_date
    from {{ ref('int_events_time_corrected') }}
    where
        event_name = 'match_played'
        and event_date >= {{ from_date }}

),

earlier_matches as (

    -- matches kept before the reprocessed dates are unchanged: their state carries over
    {% if is_incremental() -%}
        select
            user_id,
            match_id,
            match_number,
            last_non_loss_match_number
        from {{ this }}
        where event_date < {{ from_date }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as user_id,
            cast(null as {{ dbt.type_string() }}) as match_id,
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
