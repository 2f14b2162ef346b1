{{ config(post_hook="{{ delete_partitions_gone_from(source('raw', 'marketing_events')) }}") }}

with source as (
    {{ raw_rows_to_stage(source('raw', 'marketing_events')) }}
),

renamed as (
    select
        message_event_id,
        occurred_at,
        campaign_id,
        message_channel,
        event_type,
        {{ identifier_columns('email', 'email') }},
        {{ identifier_columns('phone', 'phone') }},
        {{ identifier_columns('device_id', 'device_id') }},
        _partition as source_partition,
        _loaded_at as loaded_at
    from source
)

select * from renamed
