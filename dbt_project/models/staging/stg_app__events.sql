{{ config(unique_key='event_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'app_web_events'), 'event_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'app_web_events')), [
        ('device_id', 'device_id'),
        ('account_id', 'account_id'),
    ]) }}
),

renamed as (
    select
        event_id,
        occurred_at,
        event_type,
        {{ identifier_columns('device_id') }},
        {{ identifier_columns('account_id') }},
        platform,
        page,
        product_id,
        search_query,
        utm_source,
        utm_medium,
        utm_campaign,
        {{ behaviour_mode('event_type') }} as behaviour_mode,
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
