{#-
    One row per (day, channel) with known customers' activity, plus one row per day with
    channel 'all': active customers; how many of them have used two or more channels so far
    (omnichannel); first purchases made in the channel and the days from a customer's first
    touch in any channel to that first purchase.
-#}
with active as (
    {#- Distinct (day, channel, customer) by construction: one pass over touchpoints, shared (the touchpoints read
        here three times, through a CTE DuckDB materialised, took 95 s of a night at a million customers). -#}
    select customer_id, activity_date, channel, first_touch_at
    from {{ ref('int_customer_activity_days') }}
),

channel_firsts as (
    select customer_id, channel, min(activity_date) as first_used_on
    from active
    group by customer_id, channel
),

omnichannel_since as (
    {#- The day a customer used their second channel. -#}
    select customer_id, first_used_on as omnichannel_on
    from (
        select customer_id, first_used_on,
               row_number() over (partition by customer_id order by first_used_on, channel) as channel_rank
        from channel_firsts
    ) as ranked
    where channel_rank = 2
),

activity as (
    {#- Per channel a row of active is a customer (distinct by construction), so rows are counted; for 'all' a
        customer active in two channels counts once: their days are made distinct first. Written as grouping
        sets with count(distinct), DuckDB materialised the joined input and grouped it three times (19 s at a
        million customers; this way about half). -#}
    select
        a.activity_date,
        a.channel,
        count(*) as active_customers,
        count(case when o.omnichannel_on <= a.activity_date then 1 end) as omnichannel_customers
    from active as a
    left join omnichannel_since as o on o.customer_id = a.customer_id
    group by a.activity_date, a.channel
    union all
    select
        a.activity_date,
        'all' as channel,
        count(*) as active_customers,
        count(case when o.omnichannel_on <= a.activity_date then 1 end) as omnichannel_customers
    from (select distinct customer_id, activity_date from active) as a
    left join omnichannel_since as o on o.customer_id = a.customer_id
    group by a.activity_date
),

first_orders as (
    select customer_id, ordered_at, order_date, channel
    from (
        select
            customer_id, ordered_at, order_date,
            case when sales_channel = 'store' then 'store' else {{ platform_channel('platform') }} end as channel,
            row_number() over (partition by customer_id order by ordered_at, order_key) as order_number
        from {{ ref('orders') }}
        where customer_id is not null
    ) as numbered
    where order_number = 1
),

acquisition as (
    select
        f.order_date as activity_date,
        f.channel,
        cast({{ dbt.datediff('t.first_touch_at', 'f.ordered_at', 'second') }} as {{ type_double() }}) / 86400 as days_to_first_purchase
    from first_orders as f
    inner join (select customer_id, min(first_touch_at) as first_touch_at from active group by customer_id) as t
        on t.customer_id = f.customer_id
),

acquisition_by_channel as (
    select
        activity_date,
        coalesce(channel, 'all') as channel,
        count(*) as first_purchases,
        avg(days_to_first_purchase) as avg_days_first_touch_to_purchase,
        {{ median('days_to_first_purchase') }} as median_days_first_touch_to_purchase
    from acquisition
    group by grouping sets ((activity_date, channel), (activity_date))
)

select
    a.activity_date,
    a.channel,
    a.active_customers,
    a.omnichannel_customers,
    cast(a.omnichannel_customers as {{ type_double() }}) / a.active_customers as omnichannel_share,
    coalesce(q.first_purchases, 0) as first_purchases,
    q.avg_days_first_touch_to_purchase,
    q.median_days_first_touch_to_purchase
from activity as a
left join acquisition_by_channel as q on q.activity_date = a.activity_date and q.channel = a.channel
