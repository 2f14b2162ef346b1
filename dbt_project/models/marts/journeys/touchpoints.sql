{#-
    One row per customer interaction in any channel (int_touchpoints_unioned), stitched to the
    customer it belongs to today (null while anonymous).

    Incremental, and equal to a full rebuild after every run (but for built_at):
    - rows loaded since the last build are added (the watermark is the load time, not the event
      time, so an event that arrives any number of days late is still picked up);
    - rows of customers whose records changed hands since the last build (identity.customer_changes:
      a device linked to its owner today attributes its earlier anonymous events to them; a merge or
      an erasure changes the id) are rewritten, found by customer instead of by joining every row;
      customer_changed_at, the customer's stamp, tells which changes the table has taken in (and is
      the same in a full rebuild, since a row whose customer's stamp moved is rewritten);
    - rows whose source record is gone (a corrected file re-delivered for a day) are deleted
      (macro delete_gone_rows).
    built_at says which build wrote a row (the only column a full rebuild gives other values): the quality gate
    validates the rows written since it last passed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='touchpoint_id',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_gone_rows(ref('int_touchpoints_unioned'), 'touchpoint_id', ['source_channel', 'source_partition']) }}"
    )
}}

{#- Each channel's rows are joined with the map's rows of that channel on record_id alone: one join of every row on
    (source_channel, record_id), two text columns, was 51.7 of the SELECT's 80.9 operator-seconds at a million
    customers (7.24 GiB spilled), and the build 83.8 s against 71.8 per channel. The channels are identity's
    (identity_sources); rows of any other channel take the join on both columns, so none is lost. -#}
{%- set channels = identity_sources() | map(attribute='channel') | list %}
with
{% if is_incremental() %}
changed_customers as (
    {{ changed_customers_since_last_build() }}
),

to_write as (
    select touchpoint_id
    from {{ ref('int_touchpoints_unioned') }}
    where loaded_at > {{ newest_in_this('loaded_at') }}
    union
    select touchpoint_id
    from {{ this }}
    where customer_id in (select customer_id from changed_customers)
    union
    select {{ touchpoint_id('source_channel', 'record_id') }}
    from {{ ref('int_known_customer_records') }}
    where customer_id in (select customer_id from changed_customers)
),

{#- CTEs here: a night's rows are few, and DuckDB materialises a CTE read more than once (once per channel below). -#}
unioned_to_write as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where touchpoint_id in (select touchpoint_id from to_write)
),

stitching_to_write as (
    {#- The record map cut to the rows to write first: a left join with all of it builds its hash table on
        the whole map (63 million rows at a million customers). -#}
    select * from {{ ref('int_known_customer_records') }}
    where {{ touchpoint_id('source_channel', 'record_id') }} in (select touchpoint_id from to_write)
),
{%- set unioned = 'unioned_to_write' %}
{%- set stitching = 'stitching_to_write' %}
{% else %}
{#- The relations themselves, not CTEs: read once per channel, a CTE would be materialised whole. -#}
{%- set unioned = ref('int_touchpoints_unioned') %}
{%- set stitching = ref('int_known_customer_records') %}
{% endif %}

stitched_by_channel as (
    {%- for channel in channels %}
    select u.*, c.customer_id
    from (select * from {{ unioned }} where source_channel = '{{ channel }}') as u
    left join (select record_id, customer_id from {{ stitching }} where source_channel = '{{ channel }}') as c
        on c.record_id = u.record_id
    union all
    {%- endfor %}
    {%- set listed = "'" ~ channels | join("', '") ~ "'" %}
    select u.*, c.customer_id
    from (select * from {{ unioned }} where source_channel not in ({{ listed }})) as u
    left join (select * from {{ stitching }} where source_channel not in ({{ listed }})) as c
        on c.source_channel = u.source_channel and c.record_id = u.record_id
),

stitched as (
    select
        u.touchpoint_id,
        u.customer_id,
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
        u.loaded_at,
        cc.changed_at as customer_changed_at,
        {{ build_started_at() }} as built_at
    from stitched_by_channel as u
    left join {{ source('identity', 'customer_changes') }} as cc on cc.customer_id = u.customer_id
)

select * from stitched
