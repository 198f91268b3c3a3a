{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='receive_date',
        on_schema_change='fail',
        pre_hook="{{ delete_receive_dates_gone_from(source('respawn', 'events')) }}",
        post_hook="{{ record_input_state(source('respawn', 'events')) }}"
    )
}}

with

source as (

    select * from {{ source('respawn', 'events') }}
    {% if is_incremental() %}
        -- whole receive dates: the latest staged (it may have been partial), and any older one
        -- loaded or changed since the last run (a backfill)
        where receive_date >= {{
            incremental_start_date('receive_date', source('respawn', 'events'))
        }}
    {% endif %}

),

renamed as (

    select
        -- ids: typed as UUIDs (the contract validated them)
        {{ dbt.safe_cast('event_id', uuid_type()) }} as event_id,
        {{ dbt.safe_cast('user_id', uuid_type()) }} as user_id,
        {{ dbt.safe_cast('session_id', uuid_type()) }} as session_id,
        {{ dbt.safe_cast('match_id', uuid_type()) }} as match_id,

        -- event
        event_name,
        event_version,
        status as event_status,
        client_version,

        -- session_start
        is_new_user,
        entry_point,

        -- match_played
        match_duration_sec as match_duration_seconds,
        result as match_result,
        opponent_type,

        -- disconnect
        disconnect_reason,
        time_since_session_start_sec as seconds_since_session_start,

        -- time
        client_ts,
        sent_at,
        received_at,
        receive_date,

        -- a valid event is fully described by its typed columns; an unknown one keeps its payload
        case when status = 'unknown' then payload end as unknown_payload

    from source

)

select * from renamed
