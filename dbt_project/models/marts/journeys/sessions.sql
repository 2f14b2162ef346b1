{#-
    One row per clickstream session: a device's events with no gap longer than
    session_inactivity_minutes (30) between them. A gap of exactly the limit continues the session.
    The session's customer is the known customer its events are stitched to (the device's owner,
    or, on a shared device that identity resolution held back, the customer who logged in).

    Incremental by device, and equal to a full rebuild after every run: a device's sessions are
    recomputed from its whole history when it has events loaded since the last build (late events
    included, however late), when its events changed in number, or when its sessions or its events
    belong to a customer whose records changed hands since the last build (identity.customer_changes);
    sessions of devices with no events left are deleted: the build writes one row of no events for each
    such device (a tombstone), so delete+insert removes its sessions, and the post-hook the tombstones.
    The previous post-hook compared every stored device with every click's (15 s at a million customers).
    built_at says which build wrote a row (publication copies the rest from the previous version).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='device_id_hash',
        on_schema_change='append_new_columns',
        post_hook="delete from {{ this }} where events = 0"
    )
}}
{%- set gap_minutes = var('session_inactivity_minutes') %}
{#- Subqueries, not CTEs: DuckDB materialises a CTE read more than once, and these hold every click (53 million
    rows at a million customers, spilled 24 GB in the incremental build). -#}
{%- set app_events -%}
    (select event_id, device_id_hash, occurred_at, event_type, platform, utm_source, utm_medium, utm_campaign, loaded_at
     from {{ ref('stg_app__events') }}
     where device_id_hash is not null)
{%- endset -%}
{%- set record_customers -%}
    (select record_id as event_id, customer_id
     from {{ ref('int_known_customer_records') }}
     where source_channel = 'app_web_events')
{%- endset %}

with
{% if is_incremental() %}
changed_customers as (
    {{ changed_customers_since_last_build() }}
),

device_now as (
    select device_id_hash, count(*) as events, max(loaded_at) as last_loaded_at
    from {{ app_events }} as e
    group by device_id_hash
),

device_stored as (
    select device_id_hash, sum(events) as events
    from {{ this }}
    group by device_id_hash
),

gone_devices as (
    select s.device_id_hash
    from device_stored as s
    where not exists (select 1 from device_now as n where n.device_id_hash = s.device_id_hash)
),

changed_devices as (
    select n.device_id_hash
    from device_now as n
    left join device_stored as s on s.device_id_hash = n.device_id_hash
    where s.device_id_hash is null
       or n.last_loaded_at > {{ newest_in_this('last_loaded_at') }}
       or n.events <> s.events
    union
    select device_id_hash from {{ this }} where customer_id in (select customer_id from changed_customers)
    union
    {# The changed customers' clicks found by semi-join on the map cut to them first: an inner join with the
        whole map, filtered afterwards, joined 53 million clicks with 51 million map rows every night (28 s). -#}
    select e.device_id_hash
    from {{ app_events }} as e
    where e.event_id in (
        select c.event_id from {{ record_customers }} as c
        where c.customer_id in (select customer_id from changed_customers)
    )
),

devices as (
    select device_id_hash from changed_devices
),
{%- set landing_source = 'changed_events' %}

changed_events as (
    select e.*
    from {{ app_events }} as e
    inner join changed_devices as d on d.device_id_hash = e.device_id_hash
),

events_to_sessionise as (
    {#- The record map cut to these events first: joined whole, a left join builds its hash table on all
        53 million clicks' map rows at a million customers (the night ran the disk full). -#}
    select e.*, c.customer_id
    from changed_events as e
    left join (
        select event_id, customer_id from {{ record_customers }} as r
        where event_id in (select event_id from changed_events)
    ) as c on c.event_id = e.event_id
),
{% else %}
devices as (
    select device_id_hash from {{ app_events }} as e group by device_id_hash
),
{%- set landing_source = app_events %}

events_to_sessionise as (
    select e.*, c.customer_id
    from {{ app_events }} as e
    left join {{ record_customers }} as c on c.event_id = e.event_id
),
{% endif %}

{#- The windows sort every click by device: by a number, not the 64-character hash (the windows 120 operator-seconds
    against 162, the full build 125 s against 143 at a million customers). Every column rides through both sorts,
    so the clicks carry small numbers where they can: the event type as a code, and where the visitor came from
    (platform and UTM fields, four strings only a session's first click needs) as the number of its combination,
    116 in the demo data at a million customers; the SELECT there 141.3 s against 184.0 s, the same rows. -#}
landing_keys as (
    select
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        row_number() over (order by platform, utm_source, utm_medium, utm_campaign) as landing_key
    from (select distinct platform, utm_source, utm_medium, utm_campaign from {{ landing_source }} as e) as landings
),

device_keys as (
    select device_id_hash, row_number() over (order by device_id_hash) as device_key
    from devices
),

keyed as (
    select
        k.device_key,
        e.event_id,
        e.occurred_at,
        case e.event_type
            when 'page_view' then 1
            when 'product_view' then 2
            when 'search' then 3
            when 'add_to_cart' then 4
            when 'checkout' then 5
            when 'login' then 6
            else 0
        end as event_code,
        l.landing_key,
        e.loaded_at,
        e.customer_id
    from events_to_sessionise as e
    inner join device_keys as k on k.device_id_hash = e.device_id_hash
    inner join landing_keys as l
        on l.platform is not distinct from e.platform
        and l.utm_source is not distinct from e.utm_source
        and l.utm_medium is not distinct from e.utm_medium
        and l.utm_campaign is not distinct from e.utm_campaign
),

flagged as (
    select
        *,
        case
            when lag(occurred_at) over (partition by device_key order by occurred_at, event_id) is null then 1
            when occurred_at > {{ dbt.dateadd('minute', gap_minutes, 'lag(occurred_at) over (partition by device_key order by occurred_at, event_id)') }} then 1
            else 0
        end as starts_session
    from keyed
),

numbered as (
    select
        *,
        sum(starts_session) over (partition by device_key order by occurred_at, event_id rows between unbounded preceding and current row) as session_number
    from flagged
),

sessions as (
    select
        n.device_key,
        n.session_number,
        min(n.occurred_at) as session_start,
        max(n.occurred_at) as session_end,
        count(*) as events,
        sum(case when n.event_code = 1 then 1 else 0 end) as page_views,
        sum(case when n.event_code = 2 then 1 else 0 end) as product_views,
        sum(case when n.event_code = 3 then 1 else 0 end) as searches,
        sum(case when n.event_code = 4 then 1 else 0 end) as add_to_carts,
        sum(case when n.event_code = 5 then 1 else 0 end) as checkouts,
        sum(case when n.event_code = 6 then 1 else 0 end) as logins,
        min(n.customer_id) as customer_id,
        max(n.loaded_at) as last_loaded_at,
        {#- The first event of a session carries where the visitor came from. One row per session starts it, so
            an aggregate finds it: numbered is read once and streams from the windows into the grouping (read
            twice, DuckDB materialised it; 180 s against 203-226 s for the full build at a million customers). -#}
        max(case when n.starts_session = 1 then n.landing_key end) as landing_key
    from numbered as n
    group by n.device_key, n.session_number
)

select
    {{ dbt.hash(dbt.concat(["k.device_id_hash", "'|'", "cast(s.session_start as " ~ dbt.type_string() ~ ")"])) }} as session_id,
    k.device_id_hash,
    s.customer_id,
    s.session_number,
    s.session_start,
    s.session_end,
    cast(s.session_start as date) as session_date,
    {{ dbt.datediff('s.session_start', 's.session_end', 'second') }} as duration_seconds,
    s.events,
    s.page_views,
    s.product_views,
    s.searches,
    s.add_to_carts,
    s.checkouts,
    s.logins,
    {{ platform_channel('l.platform') }} as channel,
    l.utm_source as landing_utm_source,
    l.utm_medium as landing_utm_medium,
    l.utm_campaign as landing_utm_campaign,
    s.checkouts > 0 as converted,
    s.last_loaded_at,
    cc.changed_at as customer_changed_at,
    {{ build_started_at() }} as built_at
from sessions as s
inner join device_keys as k on k.device_key = s.device_key
inner join landing_keys as l on l.landing_key = s.landing_key
left join {{ source('identity', 'customer_changes') }} as cc on cc.customer_id = s.customer_id
{% if is_incremental() %}
union all
select
    null as session_id,
    g.device_id_hash as device_id_hash,
    null as customer_id,
    null as session_number,
    null as session_start,
    null as session_end,
    null as session_date,
    null as duration_seconds,
    0 as events,
    null as page_views,
    null as product_views,
    null as searches,
    null as add_to_carts,
    null as checkouts,
    null as logins,
    null as channel,
    null as landing_utm_source,
    null as landing_utm_medium,
    null as landing_utm_campaign,
    null as converted,
    null as last_loaded_at,
    null as customer_changed_at,
    null as built_at
from gone_devices as g
{% endif %}
