{#-
    One row per customer with at least one purchase on or before the cut-off:
    the BG/NBD / Gamma-Gamma inputs, computed as lifetimes'
    summary_data_from_transaction_data does (freq='D', freq_multiplier=clv_time_unit_days):
    purchases are grouped per day; frequency = purchase days - 1; recency and T in
    time units from the first purchase day to the last one and to the cut-off;
    monetary_value = mean spend per repeat purchase day (0 for one-time buyers).
-#}
{%- set unit = var('clv_time_unit_days') -%}
with orders as (
    select customer_id, order_date, amount
    from {{ ref('orders') }}
    where customer_id is not null
),

cutoff as (
    select {{ clv_observation_end() }} as cutoff_date
    from orders
),

purchase_days as (
    select o.customer_id, o.order_date, sum(o.amount) as day_amount
    from orders as o
    cross join cutoff as c
    where o.order_date <= c.cutoff_date
    group by o.customer_id, o.order_date
),

per_customer as (
    select customer_id, min(order_date) as first_purchase_date, max(order_date) as last_purchase_date, count(*) as purchase_days
    from purchase_days
    group by customer_id
),

repeat_spend as (
    select d.customer_id, avg(cast(d.day_amount as {{ type_double() }})) as monetary_value
    from purchase_days as d
    inner join per_customer as p on p.customer_id = d.customer_id and d.order_date > p.first_purchase_date
    group by d.customer_id
)

select
    p.customer_id,
    p.purchase_days - 1 as frequency,
    cast({{ dbt.datediff('p.first_purchase_date', 'p.last_purchase_date', 'day') }} as {{ type_double() }}) / {{ unit }} as recency,
    cast({{ dbt.datediff('p.first_purchase_date', 'c.cutoff_date', 'day') }} as {{ type_double() }}) / {{ unit }} as T,
    coalesce(r.monetary_value, 0) as monetary_value,
    p.first_purchase_date,
    p.last_purchase_date,
    c.cutoff_date,
    {{ unit }} as time_unit_days
from per_customer as p
cross join cutoff as c
left join repeat_spend as r on r.customer_id = p.customer_id
