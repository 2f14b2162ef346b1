{#-
    One row per customer interaction in any channel (int_touchpoints_unioned), stitched to the
    customer it belongs to today (null while anonymous).

    Incremental, and equal to a full rebuild after every run:
    - rows loaded since the last build are added (the watermark is the load time, not the event
      time, so an event that arrives any number of days late is still picked up);
    - rows whose customer changed are rewritten (a device linked to its owner today attributes
      its earlier anonymous events to them; a merge or an erasure changes the id);
    - rows whose source record is gone (a corrected file re-delivered for a day) are deleted.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='touchpoint_id',
        on_schema_change='append_new_columns',
        post_hook="delete from {{ this }} where not exists (select 1 from {{ ref('int_touchpoints_unioned') }} as u where u.touchpoint_id = {{ this }}.touchpoint_id)"
    )
}}

with unioned as (
    select * from {{ ref('int_touchpoints_unioned') }}
),

record_customers as (
    select * from {{ ref('int_known_customer_records') }}
),

stitched as (
    select
        u.touchpoint_id,
        c.customer_id,
        u.source_channel,
        u.record_id,
        u.occurred_at,
        cast(u.occurred_at as date) as touchpoint_date,
        u.channel,
        u.touchpoint_type,
        u.touchpoint_value,
        u.order_key,
        u.marketing_source,
        u.source_partition,
        u.loaded_at
    from unioned as u
    left join record_customers as c on c.source_channel = u.source_channel and c.record_id = u.record_id
)

select * from stitched
{% if is_incremental() %}
where loaded_at > (select coalesce(max(loaded_at), cast('1900-01-01' as timestamp)) from {{ this }})
   or touchpoint_id in (
       select t.touchpoint_id
       from {{ this }} as t
       left join record_customers as c on c.source_channel = t.source_channel and c.record_id = t.record_id
       where t.customer_id is distinct from c.customer_id
   )
{% endif %}
