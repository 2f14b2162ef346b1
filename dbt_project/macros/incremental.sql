{#-
    Helpers of the incremental models (staging, touchpoints, sessions): what changed since they were last built.
-#}

{#-
    Staging: the raw rows of the partitions (landing days) to stage. A full build stages every partition; an
    incremental one the partitions whose raw rows differ from what was staged: row count or newest load time
    (a day loaded again gets a new load time; rows a gate or the loader set aside since lower the count) or not
    staged at all. Staging is row by row, so a partition staged again equals its full build; erasure clears the
    staged rows of erased people itself (orchestration/privacy/erasure.py), as it clears raw.
-#}
{% macro raw_rows_to_stage(source_relation) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where _partition in (
        select r._partition
        from (
            select _partition, count(*) as row_count, max(_loaded_at) as loaded_at
            from {{ source_relation }} group by _partition
        ) as r
        left join (
            select source_partition, count(*) as row_count, max(loaded_at) as loaded_at
            from {{ this }} group by source_partition
        ) as s on s.source_partition = r._partition
        where s.source_partition is null or s.row_count <> r.row_count or s.loaded_at <> r.loaded_at
    )
    {%- endif %}
{%- endmacro %}

{#- Post-hook of staging: partitions raw no longer holds (every row of a day set aside) leave staging too. -#}
{% macro delete_partitions_gone_from(source_relation) -%}
    delete from {{ this }}
    where source_partition not in (select distinct _partition from {{ source_relation }})
{%- endmacro %}

{#- An aggregate that summarises a set of keys: equal sets give equal values, a lost or added key changes it. -#}
{% macro key_fingerprint(expr) -%}
    {{ return(adapter.dispatch('key_fingerprint', 'clientele')(expr)) }}
{%- endmacro %}

{% macro duckdb__key_fingerprint(expr) -%}
    bit_xor(hash({{ expr }}))
{%- endmacro %}

{% macro spark__key_fingerprint(expr) -%}
    bit_xor(xxhash64({{ expr }}))
{%- endmacro %}

{% macro trino__key_fingerprint(expr) -%}
    bitwise_xor_agg(from_big_endian_64(xxhash64(to_utf8({{ expr }}))))
{%- endmacro %}

{% macro default__key_fingerprint(expr) -%}
    {{ exceptions.raise_compiler_error("key_fingerprint: no implementation for " ~ target.type) }}
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
    two aggregates instead of joining every stored row with every source row.
-#}
{% macro delete_gone_rows(source_relation, key, partition_columns) -%}
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
