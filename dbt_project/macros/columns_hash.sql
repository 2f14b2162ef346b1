{#- A 64-bit hash of one or more columns (equal values, equal hash; nulls hash too): a key as one integer. -#}
{% macro columns_hash(columns) -%}
    {{ return(adapter.dispatch('columns_hash', 'clientele')(columns)) }}
{%- endmacro %}

{% macro duckdb__columns_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__columns_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{% macro trino__columns_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns %}{% do parts.append("coalesce(cast(" ~ column ~ " as varchar), chr(0))") %}{% endfor -%}
    from_big_endian_64(xxhash64(to_utf8({{ parts | join(" || chr(31) || ") }})))
{%- endmacro %}

{% macro default__columns_hash(columns) -%}
    {{ exceptions.raise_compiler_error("columns_hash: no implementation for " ~ target.type) }}
{%- endmacro %}
