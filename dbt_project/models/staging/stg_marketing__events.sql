{{ config(unique_key='message_event_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'marketing_events'), 'message_event_id') }}") }}

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
