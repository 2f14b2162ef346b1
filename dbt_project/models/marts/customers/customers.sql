{#-
    One row per active customer: the unified profile (hashed identifiers only; see customer_identifiers),
    with the rules applied to it: relationship level, lifecycle stage, RFM segment (docs/customers.md).
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
        when p_alive is not null and p_alive < {{ var('lifecycle_lapsed_p_alive') }} then 'lapsed'
        when p_alive is not null and p_alive < {{ var('lifecycle_at_risk_p_alive') }} then 'at_risk'
        when orders = 1 then 'first_purchase'
        when orders >= {{ var('lifecycle_loyal_min_orders') }} then 'loyal'
        else 'repeat'
    end as lifecycle_stage,
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
