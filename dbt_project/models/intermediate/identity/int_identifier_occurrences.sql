{#- One row per (source record, usable identifier): the edges of the identity graph. -#}
{%- for src in identity_sources() %}
{%- for id in src['ids'] %}
select
    '{{ src["channel"] }}' as source_channel,
    {{ src['key'] }} as record_id,
    {{ src['at'] }} as occurred_at,
    '{{ id }}' as identifier_type,
    {{ id }}_hash as identifier_hash,
    {{ src['name'] if src['name'] else 'cast(null as varchar)' }} as name_hash
from {{ ref(src['model']) }}
where {{ id }}_hash is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
