{{ config(unique_key='message_event_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'marketing_events'), 'message_event_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'marketing_events')), [
        ('email', 'email'),
        ('phone', 'phone'),
        ('device_id', 'device_id'),
    ]) }}
),

renamed as (
    select
        message_event_id,
        occurred_at,
        campaign_id,
        message_channel,
        event_type,
        {{ identifier_columns('email') }},
        {{ identifier_columns('phone') }},
        {{ identifier_columns('device_id') }},
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
