{#- One row per source record with at least one usable identifier, its identifiers side by side (null where absent).
    Record grain lets identity resolution find a record's links row by row instead of grouping occurrences.

    Incremental like staging, and equal to a full rebuild after every run: a night takes the staged rows loaded
    since the newest load time here (replaced by record key), and deletes the records staging no longer holds with
    an identifier (gone from raw, or scrubbed by an erasure: macro delete_gone_rows by channel and landing day). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['source_channel', 'record_id'],
        on_schema_change='append_new_columns',
        post_hook="{{ delete_gone_rows('(' ~ identifier_records() ~ ') as staged', dbt.concat(['source_channel', \"':'\", 'record_id']), ['source_channel', 'source_partition']) }}"
    )
}}
select * from ({{ identifier_records() }}) as staged
{%- if is_incremental() %}
where loaded_at > {{ newest_in_this('loaded_at') }}
{%- endif %}
