{#-
    One row per customer whose first purchase falls in the calibration period: the
    calibration summary and what they did in the holdout, as lifetimes'
    calibration_and_holdout_data computes it. The holdout is the last
    clv_holdout_days days up to the cut-off.
-#}
{%- set unit = var('clv_time_unit_days') -%}
with orders as (
    select customer_id, order_date, amount
    from {{ ref('orders') }}
    where customer_id is not null
),

bounds as (
    select
        {{ clv_observation_end() }} as observation_end,
        {{ dbt.dateadd('day', -1 * var('clv_holdout_days'), clv_observation_end()) }} as calibration_end
    from orders
),

purchase_days as (
    select o.customer_id, o.order_date, sum(o.amount) as day_amount
    from orders as o
    cross join bounds as b
    where o.order_date <= b.observation_end
    group by o.customer_id, o.order_date
),

calibration as (
    select
        d.customer_id,
        min(d.order_date) as first_purchase_date,
        max(d.order_date) as last_purchase_date,
        count(*) as purchase_days
    from purchase_days as d
    cross join bounds as b
    where d.order_date <= b.calibration_end
    group by d.customer_id
),

calibration_spend as (
    select d.customer_id, avg(cast(d.day_amount as {{ type_double() }})) as monetary_value
    from purchase_days as d
    inner join calibration as c on c.customer_id = d.customer_id
    cross join bounds as b
    where d.order_date > c.first_purchase_date and d.order_date <= b.calibration_end
    group by d.customer_id
),

holdout as (
    {#- Like lifetimes: purchase days are counted, but spend is the mean per order, not per day. -#}
    select
        o.customer_id,
        count(distinct o.order_date) as purchase_days,
        avg(cast(o.amount as {{ type_double() }})) as monetary_value
    from orders as o
    cross join bounds as b
    where o.order_date > b.calibration_end and o.order_date <= b.observation_end
    group by o.customer_id
)

select
    c.customer_id,
    c.purchase_days - 1 as frequency_cal,
    cast({{ dbt.datediff('c.first_purchase_date', 'c.last_purchase_date', 'day') }} as {{ type_double() }}) / {{ unit }} as recency_cal,
    cast({{ dbt.datediff('c.first_purchase_date', 'b.calibration_end', 'day') }} as {{ type_double() }}) / {{ unit }} as T_cal,
    coalesce(s.monetary_value, 0) as monetary_value_cal,
    coalesce(h.purchase_days, 0) as frequency_holdout,
    coalesce(h.monetary_value, 0) as monetary_value_holdout,
    cast({{ dbt.datediff('b.calibration_end', 'b.observation_end', 'day') }} as {{ type_double() }}) / {{ unit }} as duration_holdout,
    b.calibration_end,
    b.observation_end
from calibration as c
cross join bounds as b
left join calibration_spend as s on s.customer_id = c.customer_id
left join holdout as h on h.customer_id = c.customer_id
