with

received as (

    select max(received_at) as max_received_at
    from {{ ref('stg_respawn__events') }}

),

as_of as (

    select
        {% if var('as_of') is not none -%}
            cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
        {%- else -%}
            max_received_at
        {%- endif %} as as_of_at
    from received

),

final as (

    select
        as_of_at,
        cast(as_of_at as date) as as_of_date,
        cast(
            {{ dbt.dateadd('day', -1, 'cast(as_of_at as date)') }} as date
        ) as last_complete_day
    from as_of
    -- no event yet, no as-of: nothing downstream has a reference time
    where as_of_at is not null

)

select * from final
