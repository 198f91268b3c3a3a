{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='fail',
        post_hook="{{ record_input_state(ref('stg_respawn__events')) }}"
    )
}}

with

events as (

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
        sent_at,
        received_at,
        receive_date
    from {{ ref('stg_respawn__events') }}
    where
        event_status = 'valid'
        {% if is_incremental() -%}
            -- a new event can move its whole session (clock shift): recompute touched sessions,
            -- and those that lost an event (a copy replaced by an earlier one on another day)
            {%- set reprocess_from = incremental_start_date(
                'receive_date', ref('stg_respawn__events')
            ) %}
            and session_id in (
                select received.session_id
                from {{ ref('stg_respawn__events') }} as received
                where received.receive_date >= {{ reprocess_from }}
                union
                select corrected.session_id
                from {{ this }} as corrected
                where corrected.receive_date >= {{ reprocess_from }}
            )
        {%- endif %}

),

delivery as (

    select
        *,
        coalesce(sent_at >= client_ts, false) as has_usable_sent_at,
        coalesce(sent_at < client_ts, false) as is_sent_at_inconsistent,
        {{ dbt.datediff('client_ts', 'received_at', 'microsecond') }}
            as receive_lag_microseconds,
        {{ dbt.datediff('client_ts', 'sent_at', 'microsecond') }}
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
        {{ dbt.datediff('client_ts', 'event_at', 'microsecond') }} / 1000000.0
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
