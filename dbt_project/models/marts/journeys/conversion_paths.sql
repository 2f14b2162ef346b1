{#-
    One row per (order, touchpoint on its path): the customer's touchpoints in the
    attribution_lookback_days (30) before each purchase, after their previous purchase, up to the
    purchase itself, with the weight each attribution rule gives them. Each rule's weights sum to 1
    per order. An order with no touchpoint on its path (a walk-in sale, an anonymous order, a
    purchase straight after another) has one row of type 'direct' in the order's own channel.

    Rules: first touch; last touch; linear (1/n); position-based (40% first, 40% last, 20% shared by
    the middle; 50/50 for two touches); time decay (weight halves every attribution_half_life_days
    before the purchase).

    Incremental by customer, and equal to a full rebuild after every run (but for built_at): a night rebuilds
    every order of the customers whose paths can have changed, and no other (at a million customers, one night
    touches 44 thousand of the 826 thousand customers with orders):
    - customers with touchpoints written since the last build (new or late touchpoints and orders, and rows
      stitched to a new owner: the touchpoints model rewrites those);
    - customers whose records changed hands since the last build (identity.customer_changes: they may have lost
      touchpoints or orders that now belong to someone else);
    - customers with a stored path through a touchpoint that is gone (a corrected file re-delivered for a day);
    - and orders not stored yet (anonymous ones), or stored under one of those customers.
    Orders gone from marts.orders are deleted by the post-hook.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_key',
        on_schema_change='append_new_columns',
        post_hook="delete from {{ this }} where order_key not in (select order_key from {{ ref('orders') }})"
    )
}}
{%- set lookback_days = var('attribution_lookback_days') -%}
{%- set half_life_days = var('attribution_half_life_days') -%}

with
{% if is_incremental() %}
path_customers as (
    {{ customers_with_touchpoints_built_since_last_build() }}
    union
    {{ changed_customers_since_last_build() }}
    union
    select p.customer_id from {{ this }} as p
    where p.touchpoint_id is not null
        and not exists (select 1 from {{ ref('touchpoints') }} as t where t.touchpoint_id = p.touchpoint_id)
),

orders_to_check as (
    select order_key from {{ this }} where customer_id in (select customer_id from path_customers)
    union
    select o.order_key from {{ ref('orders') }} as o
    where not exists (select 1 from {{ this }} as p where p.order_key = o.order_key)
),

{#- An order's type and its path's start depend on its customer's other orders: customers are rebuilt whole. -#}
customers_to_build as (
    select customer_id from path_customers
    union
    select customer_id from {{ ref('orders') }}
    where order_key in (select order_key from orders_to_check) and customer_id is not null
),
{% endif %}

orders as (
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
    {%- if is_incremental() %}
    where customer_id in (select customer_id from customers_to_build)
        or (customer_id is null and order_key in (select order_key from orders_to_check))
    {%- endif %}
),

path_touchpoints as (
    select touchpoint_id, customer_id, occurred_at, channel, touchpoint_type, {{ lookback_period('occurred_at', lookback_days) }} as period
    from {{ ref('touchpoints') }}
    where customer_id is not null and touchpoint_type <> 'order'
    {%- if is_incremental() %}
        and customer_id in (select customer_id from customers_to_build)
    {%- endif %}
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
        second window pass over every path row (16.6 of 48 s of CPU at a million customers). The decay is summed
        in path order: in arrival order the last bit of a weight differed between two builds (124 of 17 million
        rows at a million customers, 1e-18 apart), and a night must equal a full rebuild. -#}
    select
        p.*,
        row_number() over (partition by p.order_key order by p.touchpoint_at, p.touchpoint_id) as touch_position,
        count(*) over (partition by p.order_key) as path_length,
        {{ decay }} as decay,
        sum({{ decay }}) over (
            partition by p.order_key order by p.touchpoint_at, p.touchpoint_id
            rows between unbounded preceding and unbounded following
        ) as path_decay
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
    p.decay / p.path_decay as time_decay_weight,
    cc.changed_at as customer_changed_at,
    {{ build_started_at() }} as built_at
from positioned as p
inner join orders as o on o.order_key = p.order_key
left join {{ source('identity', 'customer_changes') }} as cc on cc.customer_id = o.customer_id
