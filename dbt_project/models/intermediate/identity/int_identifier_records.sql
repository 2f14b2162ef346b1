{#- One row per source record with at least one usable identifier, its identifiers side by side (null where absent).
    Record grain lets identity resolution find a record's links row by row instead of grouping occurrences.

    A view over staging: a table copied every staged record with an identifier (63 M rows, 4.6 GB at a million
    customers, 3.6 GB of it hashes staging already holds), and kept up with staging by delete+insert and a search for
    gone records each night. Its readers scan the same columns of the staging tables instead. -#}
{{ config(materialized='view') }}
{%- set id_types = identifier_types() %}
{%- for src in identity_sources() %}
select
    '{{ src["channel"] }}' as source_channel,
    {{ src['key'] }} as record_id,
    {{ src['at'] }} as occurred_at,
    {{ src['name'] if src['name'] else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as name_hash,
    {%- for id in id_types %}
    {{ id ~ '_hash' if id in src['ids'] else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as {{ id }}_hash,
    {%- endfor %}
    source_partition,
    loaded_at
from {{ ref(src['model']) }}
where {% for id in src['ids'] %}{{ id }}_hash is not null{{ ' or ' if not loop.last }}{% endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
