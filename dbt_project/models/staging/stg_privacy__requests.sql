{{ config(unique_key='request_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'privacy_requests'), 'request_id') }}") }}

with source as (
    {{ raw_rows_to_stage(source('raw', 'privacy_requests')) }}
),

renamed as (
    select
        request_id,
        requested_at,
        request_type,
        identifier_type,
        case identifier_type
            {%- for kind in ['email', 'phone', 'loyalty_id', 'account_id', 'device_id'] %}
            when '{{ kind }}' then {{ pseudonymize(normalize_identifier(kind, 'identifier_value')) }}
            {%- endfor %}
        end as identifier_hash,
        _partition as source_partition,
        _loaded_at as loaded_at
    from source
)

select * from renamed
