{{ config(unique_key='ticket_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'service_tickets'), 'ticket_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'service_tickets')), [
        ('phone', 'phone'),
        ('email', 'email'),
        ('loyalty_id', 'loyalty_id'),
    ]) }}
),

renamed as (
    select
        ticket_id,
        opened_at,
        contact_channel,
        category,
        {{ identifier_columns('phone') }},
        {{ identifier_columns('email') }},
        {{ identifier_columns('loyalty_id') }},
        first_response_at,
        resolved_at,
        {{ dbt.datediff('opened_at', 'first_response_at', 'minute') }} as first_response_minutes,
        {{ dbt.datediff('opened_at', 'resolved_at', 'minute') }} as resolution_minutes,
        csat,
        status,
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
