{#- The reference time comes from the data, never from the wall clock: the end of the last
    complete day. A day is complete when the receive clock has passed its end (something was
    received after it) and it is not after the last day with events (event time, corrected):
    a history imported today, or one whose receive time is its event time, ends where its
    events end. The var `as_of` (a run's `--vars`, Dagster run config, RESPAWN_AS_OF) sets the
    as-of time instead; the last complete day still never passes the last day with events. -#}
{%- set as_of_var = var('as_of') -%}

with

received as (

    select max(received_at) as max_received_at
    from {{ ref('stg_respawn__events') }}

),

happened as (

    select max(event_at) as max_event_at
    from {{ ref('int_events_time_corrected') }}

),

bounds as (

    select
        cast(
            {{ dbt.dateadd('day', -1, 'cast(received.max_received_at as date)') }} as date
        ) as last_received_day,
        cast(happened.max_event_at as date) as last_event_day
    from received
    cross join happened

),

data_end as (

    select
        last_event_day,
        case
            when last_received_day < last_event_day then last_received_day
            else last_event_day
        end as last_complete_day
    from bounds

),

as_of as (

    select
        {% if as_of_var is not none and as_of_var != '' -%}
            cast('{{ as_of_var }}' as {{ dbt.type_timestamp() }})
        {%- else -%}
            cast(
                {{ dbt.dateadd('day', 1, 'last_complete_day') }} as {{ dbt.type_timestamp() }}
            )
        {%- endif %} as as_of_at,
        last_event_day,
        last_complete_day as data_last_complete_day
    from data_end

),

final as (

    select
        as_of_at,
        cast(as_of_at as date) as as_of_date,
        case
            when
                cast({{ dbt.dateadd('day', -1, 'cast(as_of_at as date)') }} as date)
                < last_event_day
                then cast({{ dbt.dateadd('day', -1, 'cast(as_of_at as date)') }} as date)
            else last_event_day
        end as last_complete_day,
        last_event_day
    from as_of
    -- no valid event yet, no as-of: nothing downstream has a reference time
    where as_of_at is not null and last_event_day is not null and data_last_complete_day is not null

)

select * from final
