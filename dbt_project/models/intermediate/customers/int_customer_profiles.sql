{#-
    One row per active customer: every fact the profile is built from, before any rule is applied
    (the rules, relationship level and RFM segment, live in customers; the lifecycle stage is the
    latest transition in customer_journeys).

    The record map is read by ref in each join, not through a CTE: DuckDB materialises a CTE read more than
    once, and this one holds every known record (63 million at a million customers).
-#}
with registry as (
    select * from {{ ref('int_known_customers') }}
),

seen_by_channel as (
    {#- The record map carries each record's time: no staging table is joined for first and last seen (seven joins,
        53 million clicks among them, at a million customers). Grouped by channel first, so the distinct
        aggregates below run on a few rows per customer. -#}
    select customer_id, source_channel, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
    from {{ ref('int_known_customer_records') }}
    group by customer_id, source_channel
),

seen as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as channels_used,
        {{ dbt.listagg('source_channel', "', '", 'order by source_channel') }} as channel_list
    from seen_by_channel
    group by customer_id
),

orders as (
    select
        customer_id,
        count(*) as orders,
        sum(amount) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(distinct sales_channel) as sales_channels
    from {{ ref('orders') }}
    where customer_id is not null
    group by customer_id
),

engagement as (
    {#- From the touchpoints, which are stitched already: joined with the record map, the 53 million clicks cost
        a join of two 50-million-row tables at a million customers. -#}
    select
        customer_id,
        count(*) filter (where behaviour_mode = 'access') as access_events,
        count(*) filter (where behaviour_mode = 'participate') as participate_events,
        count(*) filter (where behaviour_mode = 'customise') as customise_events,
        count(*) filter (where behaviour_mode = 'connect') as connect_events,
        count(*) filter (where behaviour_mode = 'collaborate') as collaborate_events
    from (
        select customer_id, {{ behaviour_mode('touchpoint_type') }} as behaviour_mode
        from {{ ref('touchpoints') }}
        where source_channel = 'app_web_events' and customer_id is not null
    ) as clicks
    group by customer_id
),

nps as (
    select customer_id, nps_score as latest_nps, nps_category as latest_nps_category
    from (
        select rc.customer_id, s.nps_score, s.nps_category,
               row_number() over (partition by rc.customer_id order by s.responded_at desc, s.response_id desc) as rn
        from {{ ref('stg_survey__responses') }} as s
        inner join {{ ref('int_known_customer_records') }} as rc on rc.source_channel = 'survey_responses' and rc.record_id = s.response_id
    ) as ranked
    where rn = 1
),

csat as (
    select rc.customer_id, avg(cast(t.csat as {{ type_double() }})) as avg_csat, count(*) as service_tickets
    from {{ ref('stg_service__tickets') }} as t
    inner join {{ ref('int_known_customer_records') }} as rc on rc.source_channel = 'service_tickets' and rc.record_id = t.ticket_id
    group by rc.customer_id
),

membership as (
    select customer_id, tier as loyalty_tier, event_type <> 'cancel' as is_loyalty_member,
           email_opt_in, sms_opt_in
    from (
        select rc.customer_id, m.tier, m.event_type, m.email_opt_in, m.sms_opt_in,
               row_number() over (partition by rc.customer_id order by m.occurred_at desc, m.member_event_id desc) as rn
        from {{ ref('stg_crm__members') }} as m
        inner join {{ ref('int_known_customer_records') }} as rc on rc.source_channel = 'crm_members' and rc.record_id = m.member_event_id
    ) as ranked
    where rn = 1
),

unsubscribed as (
    select distinct rc.customer_id
    from {{ ref('stg_marketing__events') }} as m
    inner join {{ ref('int_known_customer_records') }} as rc on rc.source_channel = 'marketing_events' and rc.record_id = m.message_event_id
    where m.event_type = 'unsubscribed'
),

opted_out as (
    select distinct ic.customer_id
    from {{ ref('stg_privacy__requests') }} as p
    inner join {{ source('identity', 'identifier_customers') }} as ic
        on ic.identifier_type = p.identifier_type and ic.identifier_hash = p.identifier_hash
    where p.request_type = 'opt_out'
),

referrals as (
    {#- A customer who referred someone that bought: the super-strong rung. -#}
    select distinct ic.customer_id
    from {{ ref('orders') }} as o
    inner join {{ source('identity', 'identifier_customers') }} as ic
        on ic.identifier_type = 'account_id' and ic.identifier_hash = o.referrer_account_id_hash
    where o.customer_id is not null and o.customer_id <> ic.customer_id
),

rfm as (
    select * from {{ ref('customer_rfm_summary') }}
),

clv as (
    select * from {{ source('clv', 'customer_clv') }}
),

current_stage as (
    select customer_id, stage as lifecycle_stage, transitioned_at as lifecycle_stage_since
    from {{ ref('customer_journeys') }}
    where is_current
),

rfm_scores as (
    {#- customer_id breaks ties: ntile over tied values (most customers share a frequency) otherwise puts them in
        buckets that change from build to build of the same data (3,071 of 99,067 frequency scores at 100,000). -#}
    select
        customer_id,
        ntile(5) over (order by last_purchase_date, customer_id) as recency_score,
        ntile(5) over (order by frequency, customer_id) as frequency_score,
        ntile(5) over (order by monetary_value, customer_id) as monetary_score
    from rfm
),

profile as (
    select
        r.customer_id,
        r.created_at as customer_since,
        s.first_seen_at,
        s.last_seen_at,
        s.channels_used,
        s.channel_list,
        coalesce(o.orders, 0) as orders,
        coalesce(o.revenue, 0) as revenue,
        o.first_order_at,
        o.last_order_at,
        rfm.frequency,
        rfm.recency,
        rfm.T,
        rfm.monetary_value,
        sc.recency_score,
        sc.frequency_score,
        sc.monetary_score,
        coalesce(e.access_events, 0) as access_events,
        coalesce(e.participate_events, 0) as participate_events,
        coalesce(e.customise_events, 0) as customise_events,
        coalesce(e.connect_events, 0) as connect_events,
        coalesce(e.collaborate_events, 0) as collaborate_events,
        n.latest_nps,
        n.latest_nps_category,
        c.avg_csat,
        coalesce(c.service_tickets, 0) as service_tickets,
        coalesce(m.is_loyalty_member, false) as is_loyalty_member,
        m.loyalty_tier,
        coalesce(m.email_opt_in, false) and u.customer_id is null and oo.customer_id is null as email_marketing_consent,
        coalesce(m.sms_opt_in, false) and oo.customer_id is null as sms_marketing_consent,
        ref.customer_id is not null as has_referred_buyer,
        clv.p_alive,
        clv.expected_purchases_30d,
        clv.expected_purchases_90d,
        clv.expected_purchases_365d,
        clv.expected_avg_order_value,
        clv.clv_12m,
        clv.clv_12m_p10,
        clv.clv_12m_p90,
        coalesce(cs.lifecycle_stage, 'prospect') as lifecycle_stage,
        cs.lifecycle_stage_since
    from registry as r
    left join seen as s on s.customer_id = r.customer_id
    left join orders as o on o.customer_id = r.customer_id
    left join rfm on rfm.customer_id = r.customer_id
    left join rfm_scores as sc on sc.customer_id = r.customer_id
    left join engagement as e on e.customer_id = r.customer_id
    left join nps as n on n.customer_id = r.customer_id
    left join csat as c on c.customer_id = r.customer_id
    left join membership as m on m.customer_id = r.customer_id
    left join unsubscribed as u on u.customer_id = r.customer_id
    left join opted_out as oo on oo.customer_id = r.customer_id
    left join referrals as ref on ref.customer_id = r.customer_id
    left join clv on clv.customer_id = r.customer_id
    left join current_stage as cs on cs.customer_id = r.customer_id
)

select * from profile
