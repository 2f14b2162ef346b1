{#-
    One row per lifecycle stage transition of a customer, in time order, up to the CLV cut-off:
    prospect (first seen before any purchase), first_purchase, repeat (order number
    relationship_repeat_min_orders), loyal (order number lifecycle_loyal_min_orders), at_risk,
    lapsed, and reactivated (the first purchase after being at risk or lapsed).

    At risk and lapsed: once a customer has repeat purchases and a BG/NBD model is fitted, the
    moment their P(alive) falls below lifecycle_at_risk_p_alive / lifecycle_lapsed_p_alive while no
    purchase comes. P(alive) after x repeat purchase days, the last t_x after the first, is
    1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) (Fader, Hardie & Lee 2005), so it crosses p at
        T* = (alpha + t_x) * exp((ln(1/p - 1) - ln(a/(b+x-1))) / (r+x)) - alpha
    in the model's time units from the first purchase day, evaluated with the latest fit. One-time
    buyers (P(alive) is 1 under BG/NBD) and customers without a model use recency instead:
    lifecycle_at_risk_days / lifecycle_lapsed_days after their last purchase day.
    The last transition is the customer's current lifecycle_stage in customers.
-#}
with as_of as (
    select max(cutoff_date) as as_of_date from {{ ref('customer_rfm_summary') }}
),

usable_runs as (
    {#- A rejected fit leaves a 'failed' row without parameters; the model in use is the latest other one. -#}
    select * from {{ source('clv', 'clv_model_runs') }}
    where coalesce(status, 'fitted') <> 'failed'
),

model as (
    select bgnbd_r as r, bgnbd_alpha as alpha, bgnbd_a as a, bgnbd_b as b, time_unit_days
    from usable_runs
    where run_at = (select max(run_at) from usable_runs)
),

orders as (
    select
        o.customer_id,
        o.order_key,
        o.ordered_at,
        o.order_date,
        row_number() over (partition by o.customer_id order by o.ordered_at, o.order_key) as order_number,
        row_number() over (partition by o.customer_id, o.order_date order by o.ordered_at, o.order_key) as order_of_day
    from {{ ref('orders') }} as o
    cross join as_of
    where o.customer_id is not null and o.order_date <= as_of.as_of_date
),

purchase_days as (
    select
        customer_id,
        order_date as purchase_date,
        max(ordered_at) as last_order_at,
        row_number() over (partition by customer_id order by order_date) as day_number
    from orders
    group by customer_id, order_date
),

gaps as (
    {#- The time after each purchase day until the next one (or the cut-off). -#}
    select
        d.customer_id,
        d.day_number,
        d.purchase_date,
        d.last_order_at,
        lead(d.purchase_date) over (partition by d.customer_id order by d.purchase_date) as next_purchase_date,
        min(d.purchase_date) over (partition by d.customer_id) as first_purchase_date
    from purchase_days as d
),

crossing as (
    select
        g.*,
        m.time_unit_days,
        cast(g.day_number - 1 as {{ type_double() }}) as x,
        cast({{ dbt.datediff('g.first_purchase_date', 'g.purchase_date', 'day') }} as {{ type_double() }}) / m.time_unit_days as t_x,
        m.r, m.alpha, m.a, m.b
    from gaps as g
    left join model as m on g.day_number > 1
),

risk_times as (
    {#- When P(alive) (or recency) crosses each threshold after the purchase day, capped at 100 years. -#}
    select
        c.customer_id,
        c.day_number,
        c.last_order_at,
        c.next_purchase_date,
        case when c.a is not null then 'p_alive' else 'recency' end as cause,
        {%- for stage in ['at_risk', 'lapsed'] %}
        {%- set p = var('lifecycle_' ~ stage ~ '_p_alive') %}
        case
            when c.a is not null then
                {{ dbt.dateadd('second',
                    'cast(' ~ dbt.datediff('c.first_purchase_date', 'c.purchase_date', 'second')
                    ~ ' + least(3153600000, 86400 * c.time_unit_days * greatest(0, (c.alpha + c.t_x) * exp((ln('
                    ~ (1 / p - 1) ~ ') - ln(c.a / (c.b + c.x - 1))) / (c.r + c.x)) - c.alpha - c.t_x)) as bigint)',
                    'cast(c.first_purchase_date as timestamp)') }}
            else {{ dbt.dateadd('day', var('lifecycle_' ~ stage ~ '_days'), 'cast(c.purchase_date as timestamp)') }}
        end as {{ stage }}_crossed_at
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from crossing as c
),

risk_windows as (
    {#- A gap goes at risk / lapsed if the crossing comes before the next purchase day and by the cut-off.
        A crossing before the purchase day's last order (the model doubts the customer right after
        buying) happens with that order. -#}
    select
        r.customer_id,
        r.day_number,
        r.cause,
        {%- for stage in ['at_risk', 'lapsed'] %}
        case
            when r.{{ stage }}_crossed_at <= cast(a.as_of_date as timestamp)
             and (r.next_purchase_date is null
                  or greatest(r.{{ stage }}_crossed_at, r.last_order_at) < cast(r.next_purchase_date as timestamp))
            then greatest(r.{{ stage }}_crossed_at, r.last_order_at)
        end as {{ stage }}_at
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from risk_times as r
    cross join as_of as a
),

risk_events as (
    {%- for stage in ['at_risk', 'lapsed'] %}
    select
        customer_id,
        {{ stage }}_at as transitioned_at,
        {{ loop.index + 1 }} as event_rank,
        '{{ stage }}' as stage,
        cause,
        cast(null as {{ dbt.type_string() }}) as order_key
    from risk_windows
    where {{ stage }}_at is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

reactivating_days as (
    {#- The purchase day after a gap that went at risk (lapsing comes after being at risk). -#}
    select customer_id, day_number + 1 as day_number
    from risk_windows
    where at_risk_at is not null
),

order_events as (
    select
        o.customer_id,
        o.ordered_at as transitioned_at,
        1 as event_rank,
        case
            when o.order_number = 1 then 'first_purchase'
            when o.order_of_day = 1 and rd.customer_id is not null then 'reactivated'
            when o.order_number >= {{ var('lifecycle_loyal_min_orders') }} then 'loyal'
            when o.order_number >= {{ var('relationship_repeat_min_orders') }} then 'repeat'
            else 'first_purchase'
        end as stage,
        'order' as cause,
        o.order_key
    from orders as o
    inner join purchase_days as d on d.customer_id = o.customer_id and d.purchase_date = o.order_date
    left join reactivating_days as rd on rd.customer_id = o.customer_id and rd.day_number = d.day_number
),

first_seen as (
    select d.customer_id, min(d.first_touch_at) as first_seen_at
    from {{ ref('int_customer_activity_days') }} as d
    cross join as_of
    where d.activity_date <= as_of.as_of_date
    group by d.customer_id
),

prospect_events as (
    select
        f.customer_id,
        f.first_seen_at as transitioned_at,
        0 as event_rank,
        'prospect' as stage,
        'first_seen' as cause,
        cast(null as {{ dbt.type_string() }}) as order_key
    from first_seen as f
    left join (select customer_id, min(ordered_at) as first_order_at from orders group by customer_id) as o
        on o.customer_id = f.customer_id
    where o.first_order_at is null or f.first_seen_at < o.first_order_at
),

candidate_events as (
    select * from prospect_events
    union all
    select * from order_events
    union all
    select * from risk_events
),

sequenced as (
    select
        *,
        lag(stage) over (partition by customer_id order by transitioned_at, event_rank, order_key) as stage_before
    from candidate_events
),

transitions as (
    {#- Only changes of stage: a fifth order keeps a loyal customer loyal. -#}
    select * from sequenced
    where stage_before is null or stage <> stage_before
)

select
    customer_id,
    row_number() over (partition by customer_id order by transitioned_at, event_rank, order_key) as transition_number,
    lag(stage) over (partition by customer_id order by transitioned_at, event_rank, order_key) as from_stage,
    stage,
    transitioned_at,
    cause,
    order_key,
    lead(transitioned_at) over (partition by customer_id order by transitioned_at, event_rank, order_key) is null as is_current
from transitions
