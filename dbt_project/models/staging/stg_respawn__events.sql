{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'receive_date',
            'source': ['respawn', 'events'],
            'ids': 'uuid',
            'publish': {'user': 'user_id', 'session': 'session_id', 'date': 'receive_date'},
        }
    )
}}

{%- set plan = reprocessing_plan() %}

with

source as (

    select * from {{ source('respawn', 'events') }}
    {% if plan['partial'] -%}
        -- whole receive dates: those whose kept copies changed since the last run
        where {{ in_reprocess_scope(none, plan) }}
    {%- endif %}

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
