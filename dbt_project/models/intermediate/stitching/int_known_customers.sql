{#-
    One row per active customer known by at least one person-level identifier (email, phone,
    loyalty or account id). A device never linked to one is an anonymous visitor, not a customer:
    its activity is stitched to a customer only once a login or an order links the device.
-#}
select
    r.customer_id,
    r.created_at
from {{ source('identity', 'customer_registry') }} as r
where r.status = 'active'
  and exists (
      select 1
      from {{ source('identity', 'identifier_customers') }} as ic
      where ic.customer_id = r.customer_id and ic.identifier_type <> 'device_id'
  )
