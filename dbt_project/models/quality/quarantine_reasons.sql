{#-
    One row per (channel, landing day, reason): the rows ingest held back in quarantine.<channel>,
    counted so bad data is seen, never silently dropped. A row with several problems counts under
    the combination the loader wrote ('missing_required:x; unknown_value:y'). Reasons are codes
    (problem and column), never the raw values, which stay in quarantine.

    The ingest asset of a channel writes both raw.<channel> and quarantine.<channel>; dagster-dbt allows one
    dbt source per Dagster asset, so the model depends on the raw source (the ingest asset) and reads the
    quarantine table by name.
-#}
{%- set channels = ['pos_transactions', 'ecommerce_orders', 'app_web_events', 'crm_members',
                    'service_tickets', 'survey_responses', 'marketing_events', 'privacy_requests'] -%}

{% for channel in channels %}
-- depends_on: {{ source('raw', channel) }}
select
    '{{ channel }}' as source_channel,
    _partition as landing_day,
    reason,
    count(*) as rows_quarantined,
    count(distinct source_file) as files,
    max(quarantined_at) as last_quarantined_at
from quarantine.{{ channel }}
group by _partition, reason
{% if not loop.last %}union all{% endif %}
{% endfor %}
