{{ config(unique_key='transaction_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'pos_transactions'), 'transaction_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'pos_transactions')), [
        ('loyalty_id', 'loyalty_id'),
        ('phone', 'phone'),
    ]) }}
),

renamed as (
    select
        transaction_id,
        store_id,
        occurred_at,
        transaction_type,
        {{ identifier_columns('loyalty_id') }},
        {{ identifier_columns('phone') }},
        {{ name_hash('customer_name') }} as customer_name_hash,
        amount,
        items,
        payment_method,
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
