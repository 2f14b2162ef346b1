{#-
    One row per (day a ticket was opened, contact channel): service tickets, first-response and
    resolution times (minutes), the share answered or resolved later than the targets
    (service_first_response_target_minutes, service_resolution_target_minutes; a ticket not yet
    answered or resolved counts as late once the target has passed), and CSAT (1-5).
-#}
{%- set response_target = var('service_first_response_target_minutes') -%}
{%- set resolution_target = var('service_resolution_target_minutes') -%}
with tickets as (
    select
        cast(opened_at as date) as opened_date,
        contact_channel,
        opened_at,
        first_response_minutes,
        resolution_minutes,
        csat,
        coalesce(first_response_minutes > {{ response_target }},
                 {{ dbt.dateadd('minute', response_target, 'opened_at') }} < (select max(opened_at) from {{ ref('stg_service__tickets') }}))
            as is_response_late,
        coalesce(resolution_minutes > {{ resolution_target }},
                 {{ dbt.dateadd('minute', resolution_target, 'opened_at') }} < (select max(opened_at) from {{ ref('stg_service__tickets') }}))
            as is_resolution_late
    from {{ ref('stg_service__tickets') }}
)

select
    opened_date,
    contact_channel,
    count(*) as tickets,
    count(first_response_minutes) as tickets_answered,
    count(resolution_minutes) as tickets_resolved,
    avg(cast(first_response_minutes as {{ type_double() }})) as avg_first_response_minutes,
    {{ median('first_response_minutes') }} as median_first_response_minutes,
    avg(cast(resolution_minutes as {{ type_double() }})) as avg_resolution_minutes,
    {{ median('resolution_minutes') }} as median_resolution_minutes,
    cast(sum(case when is_response_late then 1 else 0 end) as {{ type_double() }}) / count(*) as share_first_response_over_target,
    cast(sum(case when is_resolution_late then 1 else 0 end) as {{ type_double() }}) / count(*) as share_resolution_over_target,
    count(csat) as csat_responses,
    avg(cast(csat as {{ type_double() }})) as avg_csat,
    cast(sum(case when csat >= 4 then 1 else 0 end) as {{ type_double() }}) / nullif(count(csat), 0) as csat_satisfied_share
from tickets
group by opened_date, contact_channel
