{#- One row per source record with at least one usable identifier, its identifiers side by side (null where absent).
    Record grain lets identity resolution find a record's links row by row instead of grouping occurrences. -#}
{%- set id_types = identifier_types() %}
{%- for src in identity_sources() %}
select
    '{{ src["channel"] }}' as source_channel,
    {{ src['key'] }} as record_id,
    {{ src['at'] }} as occurred_at,
    {{ src['name'] if src['name'] else 'cast(null as varchar)' }} as name_hash,
    {%- for id in id_types %}
    {{ id ~ '_hash' if id in src['ids'] else 'cast(null as varchar)' }} as {{ id }}_hash{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref(src['model']) }}
where {% for id in src['ids'] %}{{ id }}_hash is not null{{ ' or ' if not loop.last }}{% endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
