{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        on_schema_change='fail',
        reprocess={
            'scope': 'session',
            'session': 'session_id',
            'parents': {
                'int_events_time_corrected': 0,
                'int_matches_deduplicated': 0,
                'fct_rage_quits': 0,
            },
            'publish': {'user': 'user_id', 'session': 'session_id', 'date': 'started_date'},
        }
    )
}}

{%- set session_order = ['client_ts', 'received_at', 'event_id'] -%}
{%- set first_start = ["event_name != 'session_start'"] + session_order -%}
{%- set last_disconnect = ["event_name = 'disconnect'"] + session_order -%}
{%- set plan = reprocessing_plan() %}

with

{{ reprocessed_cte(plan, ids='uuid', name='changed_sessions') }}

events as (

    select
        session_id,
        user_id,
        event_id,
        event_name,
        entry_point,
        is_new_user,
        disconnect_reason,
        client_ts,
        received_at,
        event_at,
        is_clock_ahead_shifted,
        is_clock_behind_suspected
    from {{ ref('int_events_time_corrected') }}
    {% if plan['partial'] -%}
        -- sessions whose events, kept matches or rage quits changed
        where session_id in (select changed.session_id from changed_sessions as changed)
    {%- endif %}

),

event_totals as (

    select
        session_id,
        min(user_id) as user_id,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        max(received_at) as last_received_at,
        count(*) as events,
        {{ count_where("disconnect_reason = 'network'") }} as disconnects_network,
        {{ count_where("disconnect_reason = 'quit'") }} as disconnects_quit,
        {{ count_where("disconnect_reason = 'crash'") }} as disconnects_crash,
        max(case when is_clock_ahead_shifted then 1 else 0 end) as has_clock_ahead_shifted,
        max(case when is_clock_behind_suspected then 1 else 0 end)
            as has_clock_behind_suspected,
        -- the first session_start in device-clock order (a re-sent copy may follow) and the
        -- last disconnect, how the session ended: each order puts those events at its end
        {{ count_where("event_name = 'session_start'") }} as session_starts,
        {{ min_by('event_at', first_start) }} as first_start_at,
        {{ min_by('entry_point', first_start) }} as first_entry_point,
        {{ min_by('is_new_user', first_start) }} as first_is_new_user,
        {{ count_where("event_name = 'disconnect'") }} as disconnects,
        {{ max_by('disconnect_reason', last_disconnect) }} as last_disconnect_reason
    from events
    group by 1

),

match_totals as (

    select
        session_id,
        count(*) as matches,
        {{ count_where("match_result = 'win'") }} as wins,
        {{ count_where("match_result = 'loss'") }} as losses,
        {{ count_where("match_result = 'disconnect'") }} as match_disconnects,
        {{ count_where("opponent_type = 'bot'") }} as bot_matches,
        sum(match_duration_seconds) as match_seconds
    from {{ ref('int_matches_deduplicated') }}
    {% if plan['partial'] -%}
        where session_id in (select changed.session_id from changed_sessions as changed)
    {%- endif %}
    group by 1

),

rage_quit_totals as (

    select
        {{ dbt.safe_cast('session_id', uuid_type()) }} as session_id,
        count(*) as rage_quits
    from {{ ref('fct_rage_quits') }}
    {% if plan['partial'] -%}
        where
            {{ dbt.safe_cast('session_id', uuid_type()) }}
            in (select changed.session_id from changed_sessions as changed)
    {%- endif %}
    group by 1

),

joined as (

    select
        event_totals.session_id,
        event_totals.user_id,
        event_totals.last_event_at as ended_at,
        event_totals.events,
        event_totals.disconnects_network,
        event_totals.disconnects_quit,
        event_totals.disconnects_crash,
        event_totals.last_received_at,
        case when event_totals.session_starts > 0 then event_totals.first_entry_point end
            as entry_point,
        case
            when event_totals.session_starts > 0 then event_totals.first_start_at
            else event_totals.first_event_at
        end as started_at,
        event_totals.session_starts = 0 as is_missing_session_start,
        coalesce(event_totals.session_starts > 0 and event_totals.first_is_new_user, false)
            as is_new_user,
        coalesce(match_totals.matches, 0) as matches,
        coalesce(match_totals.wins, 0) as wins,
        coalesce(match_totals.losses, 0) as losses,
        coalesce(match_totals.match_disconnects, 0) as match_disconnects,
        coalesce(match_totals.bot_matches, 0) as bot_matches,
        coalesce(match_totals.match_seconds, 0) as match_seconds,
        case
            when event_totals.disconnects > 0 then event_totals.last_disconnect_reason
            else 'no_disconnect'
        end as ended_by,
        coalesce(rage_quit_totals.rage_quits, 0) as rage_quits,
        event_totals.has_clock_ahead_shifted = 1 as is_clock_ahead_shifted,
        event_totals.has_clock_behind_suspected = 1 as is_clock_behind_suspected
    from event_totals
    left join match_totals
        on event_totals.session_id = match_totals.session_id
    left join rage_quit_totals
        on event_totals.session_id = rage_quit_totals.session_id

),

final as (

    select
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        started_at,
        ended_at,
        is_missing_session_start,
        entry_point,
        is_new_user,
        ended_by,
        is_clock_ahead_shifted,
        is_clock_behind_suspected,
        last_received_at,
        cast(started_at as date) as started_date,
        {{ microseconds_between('started_at', 'ended_at') }} / 1e6
            as duration_seconds,
        cast(events as integer) as events,
        cast(matches as integer) as matches,
        cast(wins as integer) as wins,
        cast(losses as integer) as losses,
        cast(match_disconnects as integer) as match_disconnects,
        cast(bot_matches as integer) as bot_matches,
        case
            when matches > 0 then bot_matches * 1e0 / matches else 0
        end as bot_share,
        cast(match_seconds as bigint) as match_seconds,
        cast(disconnects_network as integer) as disconnects_network,
        cast(disconnects_quit as integer) as disconnects_quit,
        cast(disconnects_crash as integer) as disconnects_crash,
        cast(rage_quits as integer) as rage_quits
    from joined

)

select * from final
