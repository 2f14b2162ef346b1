{#- One row per (channel, identifier type, status, junk value): identifier values that were not used, and how often. -#}
{%- for src in identity_sources() %}
{%- for id in src['ids'] %}
select
    '{{ src["channel"] }}' as source_channel,
    '{{ id }}' as identifier_type,
    {{ id }}_status as status,
    {{ id }}_blocked_value as blocked_value,
    count(*) as occurrences
from {{ ref(src['model']) }}
where {{ id }}_status <> 'ok'
group by 1, 2, 3, 4
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
