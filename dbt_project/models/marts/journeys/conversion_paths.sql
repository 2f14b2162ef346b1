{#-
    One row per (order, touchpoint on its path): the customer's touchpoints in the
    attribution_lookback_days (30) before each purchase, after their previous purchase, up to the
    purchase itself, with the weight each attribution rule gives them. Each rule's weights sum to 1
    per order. An order with no touchpoint on its path (a walk-in sale, an anonymous order, a
    purchase straight after another) has one row of type 'direct' in the order's own channel.

    Rules: first touch; last touch; linear (1/n); position-based (40% first, 40% last, 20% shared by
    the middle; 50/50 for two touches); time decay (weight halves every attribution_half_life_days
    before the purchase).
-#}
{%- set lookback_days = var('attribution_lookback_days') -%}
{%- set half_life_days = var('attribution_half_life_days') -%}

with orders as (
    select
        order_key,
        customer_id,
        ordered_at,
        order_date,
        cast(amount as {{ type_double() }}) as order_amount,
        case when sales_channel = 'store' then 'store' else {{ platform_channel('platform') }} end as order_channel,
        case
            when customer_id is null then 'anonymous'
            when row_number() over (partition by customer_id order by ordered_at, order_key) = 1 then 'first_purchase'
            else 'repeat_purchase'
        end as conversion_type,
        lag(ordered_at) over (partition by customer_id order by ordered_at, order_key) as previous_order_at,
        {{ lookback_period('ordered_at', lookback_days) }} as period
    from {{ ref('orders') }}
),

path_touchpoints as (
    select touchpoint_id, customer_id, occurred_at, channel, touchpoint_type, {{ lookback_period('occurred_at', lookback_days) }} as period
    from {{ ref('touchpoints') }}
    where customer_id is not null and touchpoint_type <> 'order'
),

order_periods as (
    {#- A touchpoint on an order's path lies in the order's lookback period or the one before (periods are one
        day longer than the lookback): each order looks in both, and the join is on (customer, period). Joined on
        the customer alone, every order met every touchpoint of its customer before the time filter (63 s of a
        night at a million customers). The touchpoints are read once: each has one period, so no pair is found
        twice. -#}
    select customer_id, order_key, ordered_at, previous_order_at, period as touch_period from orders
    union all
    select customer_id, order_key, ordered_at, previous_order_at, period - 1 as touch_period from orders
),

paths as (
    select
        o.order_key,
        t.touchpoint_id,
        t.occurred_at as touchpoint_at,
        t.channel,
        t.touchpoint_type,
        cast({{ dbt.datediff('t.occurred_at', 'o.ordered_at', 'second') }} as {{ type_double() }}) / 86400 as days_before_conversion
    from order_periods as o
    inner join path_touchpoints as t
        on t.customer_id = o.customer_id
        and t.period = o.touch_period
        and t.occurred_at <= o.ordered_at
        and t.occurred_at > {{ dbt.dateadd('day', -1 * lookback_days, 'o.ordered_at') }}
        and (o.previous_order_at is null or t.occurred_at > o.previous_order_at)
),

direct as (
    select
        o.order_key,
        cast(null as {{ dbt.type_string() }}) as touchpoint_id,
        o.ordered_at as touchpoint_at,
        o.order_channel as channel,
        'direct' as touchpoint_type,
        cast(0 as {{ type_double() }}) as days_before_conversion
    from orders as o
    where not exists (select 1 from paths as p where p.order_key = o.order_key)
),

{%- set decay = "power(cast(0.5 as " ~ type_double() ~ "), p.days_before_conversion / " ~ half_life_days ~ ")" %}
positioned as (
    {#- The path's totals beside its count, in one window over the order: a sum in the final select was a
        second window pass over every path row (16.6 of 48 s of CPU at a million customers). -#}
    select
        p.*,
        row_number() over (partition by p.order_key order by p.touchpoint_at, p.touchpoint_id) as touch_position,
        count(*) over (partition by p.order_key) as path_length,
        {{ decay }} as decay,
        sum({{ decay }}) over (partition by p.order_key) as path_decay
    from (select * from paths union all select * from direct) as p
)

select
    p.order_key,
    p.touch_position,
    o.customer_id,
    o.conversion_type,
    o.ordered_at,
    o.order_date,
    o.order_amount,
    o.order_channel,
    p.path_length,
    p.touchpoint_id,
    p.touchpoint_at,
    p.channel,
    p.touchpoint_type,
    p.days_before_conversion,
    case when p.touch_position = 1 then 1.0 else 0.0 end as first_touch_weight,
    case when p.touch_position = p.path_length then 1.0 else 0.0 end as last_touch_weight,
    1.0 / p.path_length as linear_weight,
    case
        when p.path_length = 1 then 1.0
        when p.path_length = 2 then 0.5
        when p.touch_position = 1 or p.touch_position = p.path_length then 0.4
        else 0.2 / (p.path_length - 2)
    end as position_based_weight,
    p.decay / p.path_decay as time_decay_weight
from positioned as p
inner join orders as o on o.order_key = p.order_key
