{#- One row per purchase: a store sale or an online order that was not cancelled. -#}
with record_customers as (
    select * from {{ ref('int_known_customer_records') }}
),

store_sales as (
    select
        'pos_transactions' as source_channel,
        transaction_id as order_id,
        'store' as sales_channel,
        store_id,
        cast(null as varchar) as platform,
        occurred_at as ordered_at,
        amount,
        items,
        cast(null as varchar) as utm_source,
        cast(null as varchar) as referrer_account_id_hash,
        false as is_returned
    from {{ ref('stg_pos__transactions') }}
    where transaction_type = 'sale'
),

online_orders as (
    select
        'ecommerce_orders' as source_channel,
        order_id,
        'online' as sales_channel,
        cast(null as varchar) as store_id,
        platform,
        ordered_at,
        amount,
        items,
        utm_source,
        referrer_account_id_hash,
        status = 'returned' as is_returned
    from {{ ref('stg_ecommerce__orders') }}
    where status <> 'cancelled'
),

purchases as (
    select * from store_sales
    union all
    select * from online_orders
)

select
    {{ dbt.concat(["p.source_channel", "':'", "p.order_id"]) }} as order_key,
    p.*,
    cast(p.ordered_at as date) as order_date,
    rc.customer_id
from purchases as p
left join record_customers as rc
    on rc.source_channel = p.source_channel and rc.record_id = p.order_id
