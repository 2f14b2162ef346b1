{#-
    One row per (day, digital channel: web, app, mini_program) with sessions: the funnel from
    visits (sessions) to product views, carts and orders. Steps count sessions that reached them;
    orders and revenue are the online orders placed that day on that channel.
-#}
with sessions as (
    select
        session_date as funnel_date,
        channel,
        count(*) as sessions,
        sum(case when product_views > 0 then 1 else 0 end) as sessions_with_product_view,
        sum(case when add_to_carts > 0 then 1 else 0 end) as sessions_with_cart,
        sum(case when converted then 1 else 0 end) as converted_sessions
    from {{ ref('sessions') }}
    group by session_date, channel
),

orders as (
    select
        order_date as funnel_date,
        {{ platform_channel('platform') }} as channel,
        count(*) as orders,
        sum(amount) as revenue
    from {{ ref('orders') }}
    where sales_channel = 'online'
    group by order_date, {{ platform_channel('platform') }}
)

select
    s.funnel_date,
    s.channel,
    s.sessions,
    s.sessions_with_product_view,
    s.sessions_with_cart,
    s.converted_sessions,
    coalesce(o.orders, 0) as orders,
    coalesce(o.revenue, 0) as revenue,
    cast(s.sessions_with_product_view as {{ type_double() }}) / s.sessions as product_view_rate,
    cast(s.sessions_with_cart as {{ type_double() }}) / s.sessions as cart_rate,
    cast(s.converted_sessions as {{ type_double() }}) / s.sessions as conversion_rate
from sessions as s
left join orders as o on o.funnel_date = s.funnel_date and o.channel = s.channel
