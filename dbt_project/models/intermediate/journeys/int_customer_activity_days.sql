{#-
    One row per (known customer, day, channel) with a touchpoint: the customer's first touch that day in
    that channel, and how many touchpoints. The one pass over touchpoints (60 million rows at a million
    customers) that the customer-level daily marts share: customer_experience_daily read the touchpoints three
    times (its CTE materialised every row), customer_journeys once more for the first touch.

    Incremental by customer, and equal to a full rebuild after every run (but for built_at): a night
    aggregates again the customers with touchpoints written since the last build (new, late, or stitched to
    them) and those whose number of touchpoints differs from the stored one (touchpoints that left them: to
    another customer, or gone with a corrected file). A customer with no touchpoint left gets one row of no
    touches (a tombstone), so delete+insert removes their days, and the post-hook the tombstones.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='append_new_columns',
        post_hook="delete from {{ this }} where touches = 0"
    )
}}

{% if is_incremental() -%}
with touches_now as (
    select customer_id, count(*) as touches
    from {{ ref('touchpoints') }}
    where customer_id is not null
    group by customer_id
),

touches_stored as (
    select customer_id, sum(touches) as touches
    from {{ this }}
    group by customer_id
),

customers_to_build as (
    {{ customers_with_touchpoints_built_since_last_build() }}
    union
    select coalesce(n.customer_id, s.customer_id) as customer_id
    from touches_now as n
    full outer join touches_stored as s on s.customer_id = n.customer_id
    where n.touches is null or s.touches is null or n.touches <> s.touches
)
{%- endif %}

select
    customer_id,
    touchpoint_date as activity_date,
    channel,
    min(occurred_at) as first_touch_at,
    count(*) as touches,
    {{ build_started_at() }} as built_at
from {{ ref('touchpoints') }}
where customer_id is not null
{%- if is_incremental() %}
    and customer_id in (select customer_id from customers_to_build)
{%- endif %}
group by customer_id, touchpoint_date, channel
{%- if is_incremental() %}
union all
select
    s.customer_id,
    null as activity_date,
    null as channel,
    null as first_touch_at,
    0 as touches,
    {{ build_started_at() }} as built_at
from touches_stored as s
where not exists (select 1 from touches_now as n where n.customer_id = s.customer_id)
{%- endif %}
