{#-
    One row per (week, survey channel, relationship level of the customer who answered; 'unknown'
    for anonymous answers): NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100.
-#}
with answers as (
    select
        cast({{ dbt.date_trunc('week', 's.responded_at') }} as date) as week_start,
        coalesce(s.survey_channel, 'unknown') as survey_channel,
        coalesce(c.relationship_level, 'unknown') as relationship_level,
        s.nps_category
    from {{ ref('stg_survey__responses') }} as s
    left join {{ ref('int_known_customer_records') }} as r
        on r.source_channel = 'survey_responses' and r.record_id = s.response_id
    left join {{ ref('customers') }} as c on c.customer_id = r.customer_id
)

select
    week_start,
    survey_channel,
    relationship_level,
    count(*) as responses,
    sum(case when nps_category = 'promoter' then 1 else 0 end) as promoters,
    sum(case when nps_category = 'passive' then 1 else 0 end) as passives,
    sum(case when nps_category = 'detractor' then 1 else 0 end) as detractors,
    100.0 * (sum(case when nps_category = 'promoter' then 1 else 0 end)
             - sum(case when nps_category = 'detractor' then 1 else 0 end)) / count(*) as nps
from answers
group by week_start, survey_channel, relationship_level
