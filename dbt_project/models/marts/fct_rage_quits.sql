{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'session',
            'session': 'session_id',
            'parents': {'int_events_time_corrected': 0, 'int_matches_deduplicated': 0},
            'publish': {'user': 'user_id', 'session': 'session_id', 'date': 'rage_quit_date'},
            'vars': ['rage_quit_window_seconds'],
        }
    )
}}

{%- set window_microseconds = '1000000 * ' ~ var('rage_quit_window_seconds') -%}
{%- set plan = reprocessing_plan() %}

with

-- a rage quit pairs two events of one session: whole sessions are recomputed
{{ reprocessed_cte(plan, ids='uuid', name='changed_sessions') }}

quits as (

    select
        event_id,
        user_id,
        session_id,
        client_ts,
        event_at
    from {{ ref('int_events_time_corrected') }}
    where
        event_name = 'disconnect'
        and disconnect_reason = 'quit'
        {% if plan['partial'] %}
            and session_id in (select changed.session_id from changed_sessions as changed)
        {%- endif %}

),

matches as (

    select
        user_id,
        session_id,
        match_id,
        match_result,
        client_ts,
        event_at,
        loss_streak_before,
        loss_streak_after
    from {{ ref('int_matches_deduplicated') }}
    where
        match_result in ('loss', 'disconnect')
        {% if plan['partial'] %}
            and session_id in (select changed.session_id from changed_sessions as changed)
        {%- endif %}

),

candidates as (

    -- one device clock within a session: distances are measured on client_ts; on equal
    -- client_ts a match comes before a disconnect
    select
        quits.event_id as rage_quit_id,
        quits.user_id,
        quits.session_id,
        quits.event_at as quit_at,
        matches.match_id,
        matches.event_at as match_at,
        {{ microseconds_between('matches.client_ts', 'quits.client_ts') }}
            as quit_offset_microseconds,
        case
            when matches.match_result = 'disconnect' then 'abandoned_match'
            else 'quit_after_loss'
        end as rage_quit_kind,
        case
            when matches.match_result = 'disconnect' then matches.loss_streak_before
            else matches.loss_streak_after
        end as loss_streak_before
    from quits
    inner join matches
        on
            quits.session_id = matches.session_id
            and quits.user_id = matches.user_id

),

qualifying as (

    select
        *,
        -- abandoned_match wins over quit_after_loss, then the nearest match
        row_number() over (
            partition by rage_quit_id
            order by
                case rage_quit_kind when 'abandoned_match' then 0 else 1 end asc,
                abs(quit_offset_microseconds) asc,
                match_at desc,
                match_id asc
        ) as candidate_rank
    from candidates
    where
        (
            rage_quit_kind = 'abandoned_match'
            and abs(quit_offset_microseconds) <= {{ window_microseconds }}
        )
        or (
            rage_quit_kind = 'quit_after_loss'
            and quit_offset_microseconds between 0 and {{ window_microseconds }}
        )

),

rage_quits as (

    select
        cast(rage_quit_id as {{ dbt.type_string() }}) as rage_quit_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(match_id as {{ dbt.type_string() }}) as match_id,
        rage_quit_kind,
        quit_at,
        match_at,
        cast(loss_streak_before as integer) as loss_streak_before,
        -- known only once both events happened: the day a feature may count it
        cast(
            case when match_at > quit_at then match_at else quit_at end as date
        ) as rage_quit_date,
        quit_offset_microseconds / 1e6 as seconds_after_match
    from qualifying
    where candidate_rank = 1

),

final as (

    select * from rage_quits

)

select * from final
