with

as_of as (

    select
        last_complete_day,
        cast({{ dbt.dateadd('day', 1, 'last_complete_day') }} as date) as as_of_date
    from {{ ref('int_as_of_dates') }}

),

session_days as (

    select
        {{ dbt.safe_cast('daily.user_id', uuid_type()) }} as user_id,
        daily.activity_date,
        as_of.as_of_date
    from {{ ref('fct_user_daily_activity') }} as daily
    cross join as_of
    where daily.sessions > 0 and daily.activity_date <= as_of.last_complete_day

),

with_next as (

    select
        user_id,
        activity_date,
        -- the next session day takes over; nothing is eligible past the last complete day
        least(
            coalesce(
                lead(activity_date) over (partition by user_id order by activity_date),
                as_of_date
            ),
            as_of_date
        ) as covered_until
    from session_days

),

offsets as (

    {{ integer_series(var('eligibility_days')) }}

),

final as (

    -- a session on day a makes a, a + 1, ..., a + eligibility_days - 1 eligible
    select
        with_next.user_id,
        cast({{ dbt.dateadd('day', 'offsets.n', 'with_next.activity_date') }} as date)
            as snapshot_date
    from with_next
    inner join offsets
        on
            offsets.n
            < {{ dbt.datediff('with_next.activity_date', 'with_next.covered_until', 'day') }}

)

select * from final
