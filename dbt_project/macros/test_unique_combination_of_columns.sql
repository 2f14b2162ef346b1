{#-
    Unique combination of columns (the few lines we need from dbt_utils; the package hub cannot be reached here).
    Two passes: keys sharing a 64-bit hash first (a group of integers), then the exact keys among those rows only.
    At a million customers, on the 63 M-row record tables: 11.3 -> 5.7 s (int_identifier_records) and
    16.6 -> 11.3 s (int_known_customer_records, a view whose join is read twice) against one group of the text keys.
-#}
{% test unique_combination_of_columns(model, columns) %}
with shared_hashes as (
    select {{ columns_hash(columns) }} as key_hash
    from {{ model }}
    group by {{ columns_hash(columns) }}
    having count(*) > 1
)

select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
where {{ columns_hash(columns) }} in (select key_hash from shared_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
