{#-
    One row per customer interaction in any channel, not yet stitched to a customer (a view:
    touchpoints reads only the rows it needs from it). Business-side events (a message sent,
    delivered or bounced; a privacy request) are not interactions and are left out.
    touchpoint_id is '<source channel>:<record id>'; order_key matches marts.orders.
-#}
with clickstream as (
    select
        'app_web_events' as source_channel,
        event_id as record_id,
        occurred_at,
        {{ platform_channel('platform') }} as channel,
        event_type as touchpoint_type,
        cast(null as {{ type_double() }}) as touchpoint_value,
        cast(null as {{ dbt.type_string() }}) as order_key,
        utm_source as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_app__events') }}
),

store as (
    select
        'pos_transactions' as source_channel,
        transaction_id as record_id,
        occurred_at,
        'store' as channel,
        case transaction_type when 'sale' then 'order' else 'refund' end as touchpoint_type,
        cast(amount as {{ type_double() }}) as touchpoint_value,
        case when transaction_type = 'sale' then {{ dbt.concat(["'pos_transactions:'", "transaction_id"]) }} end as order_key,
        cast(null as {{ dbt.type_string() }}) as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_pos__transactions') }}
),

online as (
    select
        'ecommerce_orders' as source_channel,
        order_id as record_id,
        ordered_at as occurred_at,
        {{ platform_channel('platform') }} as channel,
        case when status = 'cancelled' then 'order_cancelled' else 'order' end as touchpoint_type,
        cast(amount as {{ type_double() }}) as touchpoint_value,
        case when status <> 'cancelled' then {{ dbt.concat(["'ecommerce_orders:'", "order_id"]) }} end as order_key,
        utm_source as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_ecommerce__orders') }}
),

membership as (
    select
        'crm_members' as source_channel,
        member_event_id as record_id,
        occurred_at,
        'loyalty' as channel,
        case event_type
            when 'sign_up' then 'member_sign_up'
            when 'cancel' then 'member_cancel'
            else event_type
        end as touchpoint_type,
        cast(null as {{ type_double() }}) as touchpoint_value,
        cast(null as {{ dbt.type_string() }}) as order_key,
        cast(null as {{ dbt.type_string() }}) as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_crm__members') }}
),

service as (
    select
        'service_tickets' as source_channel,
        ticket_id as record_id,
        opened_at as occurred_at,
        contact_channel as channel,
        'service_contact' as touchpoint_type,
        cast(csat as {{ type_double() }}) as touchpoint_value,
        cast(null as {{ dbt.type_string() }}) as order_key,
        cast(null as {{ dbt.type_string() }}) as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_service__tickets') }}
),

surveys as (
    select
        'survey_responses' as source_channel,
        response_id as record_id,
        responded_at as occurred_at,
        coalesce(survey_channel, 'unknown') as channel,
        'survey_answer' as touchpoint_type,
        cast(nps_score as {{ type_double() }}) as touchpoint_value,
        cast(null as {{ dbt.type_string() }}) as order_key,
        cast(null as {{ dbt.type_string() }}) as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_survey__responses') }}
),

campaigns as (
    select
        'marketing_events' as source_channel,
        message_event_id as record_id,
        occurred_at,
        message_channel as channel,
        case event_type
            when 'opened' then 'campaign_open'
            when 'clicked' then 'campaign_click'
            else 'campaign_unsubscribe'
        end as touchpoint_type,
        cast(null as {{ type_double() }}) as touchpoint_value,
        cast(null as {{ dbt.type_string() }}) as order_key,
        campaign_id as marketing_source,
        source_partition,
        loaded_at
    from {{ ref('stg_marketing__events') }}
    where event_type in ('opened', 'clicked', 'unsubscribed')
),

unioned as (
    select * from clickstream
    union all
    select * from store
    union all
    select * from online
    union all
    select * from membership
    union all
    select * from service
    union all
    select * from surveys
    union all
    select * from campaigns
)

select
    {{ touchpoint_id('source_channel', 'record_id') }} as touchpoint_id,
    *
from unioned
