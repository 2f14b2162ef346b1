{{ config(unique_key='order_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'ecommerce_orders'), 'order_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'ecommerce_orders')), [
        ('account_id', 'account_id'),
        ('email', 'email'),
        ('phone', 'phone'),
        ('device_id', 'device_id'),
        ('account_id', 'referrer_account_id'),
    ]) }}
),

renamed as (
    select
        order_id,
        ordered_at,
        platform,
        {{ identifier_columns('account_id') }},
        {{ identifier_columns('email') }},
        {{ identifier_columns('phone') }},
        {{ identifier_columns('device_id') }},
        {{ name_hash('customer_name') }} as customer_name_hash,
        shipping_city,
        amount,
        items,
        status,
        utm_source,
        {{ identifier_columns('referrer_account_id') }},
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
