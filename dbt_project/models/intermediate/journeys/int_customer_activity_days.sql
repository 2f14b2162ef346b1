{#-
    One row per (known customer, day, channel) with a touchpoint: the customer's first touch that day in
    that channel. The one pass over touchpoints (60 million rows at a million customers) that the
    customer-level daily marts share: customer_experience_daily read the touchpoints three times (its CTE
    materialised every row), customer_journeys once more for the first touch.
-#}
{{ config(materialized='table') }}

select
    customer_id,
    touchpoint_date as activity_date,
    channel,
    min(occurred_at) as first_touch_at
from {{ ref('touchpoints') }}
where customer_id is not null
group by customer_id, touchpoint_date, channel
