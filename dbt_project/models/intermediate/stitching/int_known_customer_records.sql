{#-
    One row per source record that belongs to a known customer: the one map every customer-level
    model stitches with. It follows the identity graph of the latest run, so a device seen before
    its owner logged in is attributed to that owner from the run the link appears, past rows included.
    occurred_at (the record's time) lets per-customer activity be read from the map alone.

    A view: identity's record map changes by a fraction of a percent a night, and a table here copied all
    63 million rows a night at a million customers (20.5 s, on the path of every mart); its readers each join instead (a full build
    of touchpoints: 106.2 -> 110.6 s), and its key test reads the join (15-16 s against 9-11 s on the table).
-#}
{{ config(materialized='view') }}
select
    rc.source_channel,
    rc.record_id,
    rc.customer_id,
    rc.occurred_at
from {{ source('identity', 'record_customers') }} as rc
inner join {{ ref('int_known_customers') }} as k on k.customer_id = rc.customer_id
