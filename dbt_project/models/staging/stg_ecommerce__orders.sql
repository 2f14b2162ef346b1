{{ config(post_hook="{{ delete_partitions_gone_from(source('raw', 'ecommerce_orders')) }}") }}

with source as (
    {{ raw_rows_to_stage(source('raw', 'ecommerce_orders')) }}
),

renamed as (
    select
        order_id,
        ordered_at,
        platform,
        {{ identifier_columns('account_id', 'account_id') }},
        {{ identifier_columns('email', 'email') }},
        {{ identifier_columns('phone', 'phone') }},
        {{ identifier_columns('device_id', 'device_id') }},
        {{ name_hash('customer_name') }} as customer_name_hash,
        shipping_city,
        amount,
        items,
        status,
        utm_source,
        {{ identifier_columns('account_id', 'referrer_account_id', 'referrer_account_id') }},
        _partition as source_partition,
        _loaded_at as loaded_at
    from source
)

select * from renamed
