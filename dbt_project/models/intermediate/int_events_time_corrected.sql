{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'session',
            'ids': 'uuid',
            'session': 'session_id',
            'parents': {'stg_respawn__events': 0},
            'publish': {'user': 'user_id', 'session': 'session_id', 'date': 'event_date'},
            'vars': ['clock_tolerance_seconds'],
        }
    )
}}

{%- set plan = reprocessing_plan() %}

with

events as (

    select
        staged.event_id,
        staged.user_id,
        staged.session_id,
        staged.event_name,
        staged.entry_point,
        staged.is_new_user,
        staged.match_id,
        staged.match_result,
        staged.opponent_type,
        staged.match_duration_seconds,
        staged.disconnect_reason,
        staged.client_ts,
        staged.sent_at,
        staged.received_at,
        staged.receive_date
    from {{ ref('stg_respawn__events') }} as staged
    where
        staged.event_status = 'valid'
        {% if plan['partial'] %}
            -- a changed event can move its whole session (clock shift): whole sessions, with
            -- every event they had or have
            and {{ in_reprocess_scope('staged', plan) }}
        {%- endif %}

),

delivery as (

    select
        *,
        coalesce(sent_at >= client_ts, false) as has_usable_sent_at,
        coalesce(sent_at < client_ts, false) as is_sent_at_inconsistent,
        {{ microseconds_between('client_ts', 'received_at') }}
            as receive_lag_microseconds,
        {{ microseconds_between('client_ts', 'sent_at') }}
            as send_lag_microseconds
    from events

),

session_clocks as (

    -- events without a usable sent_at can only be timed by the device's clock; the smallest
    -- receive lag of the session bounds how far ahead that clock runs
    select
        session_id,
        min(receive_lag_microseconds) as session_min_receive_lag_microseconds
    from delivery
    where not has_usable_sent_at
    group by 1

),

classified as (

    select
        delivery.*,
        session_clocks.session_min_receive_lag_microseconds,
        case
            when delivery.has_usable_sent_at then 'sent_at'
            when
                session_clocks.session_min_receive_lag_microseconds
                < -1000000 * {{ var('clock_tolerance_seconds') }}
                then 'session_shifted'
            else 'client_clock'
        end as event_time_basis
    from delivery
    left join session_clocks
        on delivery.session_id = session_clocks.session_id

),

corrected as (

    select
        *,
        case event_time_basis
            when 'sent_at'
                then {{ add_microseconds('received_at', '-1 * send_lag_microseconds') }}
            when 'session_shifted'
                then {{ add_microseconds(
                    'client_ts', 'session_min_receive_lag_microseconds'
                ) }}
            else client_ts
        end as event_at
    from classified

),

final as (

    select
        event_id,
        user_id,
        session_id,
        event_name,

        entry_point,
        is_new_user,
        match_id,
        match_result,
        opponent_type,
        match_duration_seconds,
        disconnect_reason,

        client_ts,
        received_at,
        receive_date,
        event_at,
        cast(event_at as date) as event_date,
        event_time_basis,
        {{ microseconds_between('client_ts', 'event_at') }} / 1e6
            as clock_correction_seconds,
        event_time_basis = 'session_shifted' as is_clock_ahead_shifted,
        coalesce(
            event_time_basis = 'client_clock'
            and session_min_receive_lag_microseconds
            > 1000000 * {{ var('clock_tolerance_seconds') }},
            false
        ) as is_clock_behind_suspected,
        is_sent_at_inconsistent
    from corrected

)

select * from final
