{#-
    One row per active customer: the unified profile (hashed identifiers only; see customer_identifiers),
    with the rules applied to it: relationship level and RFM segment (docs/customers.md). The lifecycle
    stage is the customer's latest transition in customer_journeys.
-#}
select
    *,
    case
        when orders = 0 then 'none'
        when orders < {{ var('relationship_repeat_min_orders') }} then 'micro'
        when not (coalesce(latest_nps, -1) >= {{ var('relationship_promoter_min_nps') }} or is_loyalty_member) then 'weak'
        when not has_referred_buyer then 'strong'
        else 'super_strong'
    end as relationship_level,
    case
        when orders = 0 then 'prospect'
        when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
        when recency_score >= 3 and frequency_score >= 3 then 'loyal'
        when recency_score >= 4 and frequency_score <= 2 then 'new_or_promising'
        when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
        when recency_score <= 2 then 'hibernating'
        else 'needs_attention'
    end as rfm_segment
from {{ ref('int_customer_profiles') }}
