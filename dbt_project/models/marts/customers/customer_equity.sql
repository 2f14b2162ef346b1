{#- One row per (rfm segment, relationship level): customer equity (sum of 12-month CLV) for BI. -#}
select
    rfm_segment,
    relationship_level,
    count(*) as customers,
    sum(clv_12m) as customer_equity_12m,
    avg(clv_12m) as avg_clv_12m,
    avg(p_alive) as avg_p_alive
from {{ ref('customers') }}
group by rfm_segment, relationship_level
