{#- One row per (customer, hashed identifier value) used to link the customer's records. -#}
select
    ic.customer_id,
    ic.identifier_type,
    ic.identifier_hash
from {{ source('identity', 'identifier_customers') }} as ic
inner join {{ ref('customers') }} as c on c.customer_id = ic.customer_id
