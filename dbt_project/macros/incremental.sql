{#-
    Helpers of the incremental models (staging, touchpoints, sessions and the models downstream of touchpoints):
    what changed since they were last built.
-#}

{#-
    Staging: the raw rows to stage. A full build stages every row; an incremental one the rows written to raw
    since the newest load time staging holds (a day loaded or loaded again, a row an erasure scrubbed: each gets
    a new _loaded_at), replaced by the record's key (delete+insert). Rows raw no longer holds (set aside by a
    gate or the loader, a day re-delivered with fewer rows) leave with the post-hook stage_deletions_from_raw.
    Staging is row by row, so the result equals staging everything again (tests/test_dbt.py).
-#}
{% macro raw_rows_to_stage(source_relation) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where _loaded_at > {{ newest_in_this('loaded_at') }}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of staging: staged rows whose raw row is gone are deleted (delete_gone_rows, by landing day). -#}
{% macro stage_deletions_from_raw(source_relation, key) -%}
    {{ delete_gone_rows("(select " ~ key ~ ", _partition as source_partition from " ~ source_relation ~ ") as raw_rows",
                        key, ['source_partition']) }}
{%- endmacro %}

{#- An aggregate that summarises a set of keys: equal sets give equal values, a lost or added key changes it. -#}
{% macro key_fingerprint(expr) -%}
    {{ return(adapter.dispatch('key_fingerprint', 'clientele')(expr)) }}
{%- endmacro %}

{% macro default__key_fingerprint(expr) -%}
    bit_xor({{ columns_hash([expr]) }})
{%- endmacro %}

{% macro trino__key_fingerprint(expr) -%}
    bitwise_xor_agg({{ columns_hash([expr]) }})
{%- endmacro %}

{#- The newest value of a column of this model (a watermark); a date before any data while the table is empty. -#}
{% macro newest_in_this(column) -%}
    (select coalesce(max({{ column }}), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}

{#- A touchpoint's id, '<source channel>:<record id>': how touchpoints finds the rows of a source record. -#}
{% macro touchpoint_id(source_channel, record_id) -%}
    {{ dbt.concat([source_channel, "':'", record_id]) }}
{%- endmacro %}

{#-
    Customers with touchpoints a build of the touchpoints model wrote since this model was last built (new, late,
    or stitched to them): the models downstream of touchpoints rebuild them. Both models' built_at is the start of
    the dbt run that wrote the row, so the newest in this model is its last build.
-#}
{% macro customers_with_touchpoints_built_since_last_build() -%}
    select customer_id
    from {{ ref('touchpoints') }}
    where built_at > {{ newest_in_this('built_at') }} and customer_id is not null
{%- endmacro %}

{#-
    Customers whose records may have changed hands since this model was last built: identity resolution and
    erasure stamp them in identity.customer_changes. Each row of the model carries its customer's stamp
    (customer_changed_at), so the newest stamp in the model is the last change it took in; a stamp that only
    customers without rows received is looked at again next time (cheap, and always safe).
-#}
{% macro changed_customers_since_last_build() -%}
    select customer_id
    from {{ source('identity', 'customer_changes') }}
    where changed_at > {{ newest_in_this('customer_changed_at') }}
{%- endmacro %}

{#-
    Post-hook: delete the rows whose source record is gone (a corrected file re-delivered for a day, a row a gate
    set aside). Only partitions whose key fingerprint differs from the source's are searched, so a night reads
    two aggregates instead of joining every stored row with every source row. A build that is not incremental
    wrote every row of its source, so nothing can be gone: the hook renders nothing (the two aggregates cost
    31 s of a million-customer full refresh in stg_app__events, int_identifier_records and touchpoints).
-#}
{% macro delete_gone_rows(source_relation, key, partition_columns) -%}
    {%- if not is_incremental() %}{{ return('') }}{% endif -%}
    {%- set parts = [] -%}
    {%- for column in partition_columns -%}
        {%- do parts.append(column) -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {%- set part = dbt.concat(parts) -%}
    delete from {{ this }}
    where {{ key }} in (
        with stored as (
            select {{ part }} as part, count(*) as keys, {{ key_fingerprint(key) }} as fingerprint
            from {{ this }} group by {{ part }}
        ),
        delivered as (
            select {{ part }} as part, count(*) as keys, {{ key_fingerprint(key) }} as fingerprint
            from {{ source_relation }} group by {{ part }}
        ),
        changed_parts as (
            select s.part from stored as s left join delivered as n on n.part = s.part
            where n.part is null or n.keys <> s.keys or n.fingerprint <> s.fingerprint
        )
        select {{ key }} from {{ this }} where {{ part }} in (select part from changed_parts)
        except
        select {{ key }} from {{ source_relation }} where {{ part }} in (select part from changed_parts)
    )
{%- endmacro %}

{#-
    When the build writing a row started (dbt's run_started_at, UTC): a row an incremental build keeps keeps its
    old value, so a gate can validate only the rows written since it last passed (orchestration/assets/quality.py).
-#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
