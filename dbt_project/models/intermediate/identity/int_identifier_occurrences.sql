{{ config(materialized='view') }}
{#- One row per (source record, usable identifier): the long form of int_identifier_records, for audit and erasure. -#}
{%- for id in identifier_types() %}
select source_channel, record_id, occurred_at, '{{ id }}' as identifier_type, {{ id }}_hash as identifier_hash, name_hash
from {{ ref('int_identifier_records') }}
where {{ id }}_hash is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
