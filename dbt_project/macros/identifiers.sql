{#-
    Identifier normalisation. Every identifier column in staging becomes three columns:
    <name>_hash (HMAC of the normalised value, null unless usable), <name>_status
    (ok, blocklisted, junk_pattern, invalid) and <name>_blocked_value (the junk value
    itself, only when it is junk, never a real person's data).
-#}
{% macro normalize_identifier(kind, expr) -%}
    {%- if kind == 'email' -%}
        nullif(lower(trim({{ expr }})), '')
    {%- elif kind == 'phone' -%}
        {%- set digits = clientele.regex_replace_all(expr, '[^0-9]', '') -%}
        case
            when nullif(trim({{ expr }}), '') is null then null
            when trim({{ expr }}) like '+%' then '+' || {{ digits }}
            when {{ digits }} like '00%' then '+' || substring({{ digits }}, 3)
            when length({{ digits }}) = 11 and {{ digits }} like '1%' then '+86' || {{ digits }}
            when length({{ digits }}) = 13 and {{ digits }} like '861%' then '+' || {{ digits }}
            when {{ digits }} like '0%' then '+{{ var("default_phone_country_code") }}' || substring({{ digits }}, 2)
        end
    {%- else -%}
        nullif(trim({{ expr }}), '')
    {%- endif -%}
{%- endmacro %}

{#- The status of an identifier from its trimmed and normalised forms (columns of identified_rows). -#}
{% macro identifier_status(kind, trimmed, normalized) -%}
    {%- set blocklist = var('identifier_blocklist')[kind] if kind in var('identifier_blocklist') else var('identifier_blocklist')['other'] -%}
    {%- set listed -%}({% for v in blocklist %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor %}){%- endset -%}
    case
        when {{ trimmed }} is null then null
        when lower({{ trimmed }}) in {{ listed }} or {{ normalized }} in {{ listed }} then 'blocklisted'
        {%- if kind == 'phone' %}
        when {{ normalized }} is null or length({{ normalized }}) not between 9 and 16 then 'invalid'
        when replace(substring({{ normalized }}, 2), substring({{ normalized }}, 2, 1), '') = '' then 'junk_pattern'
        {%- elif kind == 'email' %}
        when {{ normalized }} not like '%_@_%._%' or {{ normalized }} like '% %' then 'invalid'
        {%- endif %}
        else 'ok'
    end
{%- endmacro %}

{#-
    The rows of a staging source (SQL text) with each identifier column classified once and hashed once per
    distinct value: identifiers is a list of (kind, column), and every column gets <column>_trimmed,
    <column>_normalized, <column>_status and <column>_hashed (the HMAC of the normalised value, whatever the
    status). Why: hashed row by row, HMAC-SHA256 cost two SHA-256s per identifier of every click (53 M at a
    million customers), while the values repeat (1 M devices); and the status, written into three columns,
    was evaluated three times. The source is read again for its distinct values, not through a CTE, since
    DuckDB materialises a CTE read twice.
-#}
{% macro identified_rows(rows, identifiers) -%}
    select
        n.*
        {%- for kind, column in identifiers %},
        {{ clientele.identifier_status(kind, 'n.' ~ column ~ '_trimmed', 'n.' ~ column ~ '_normalized') }} as {{ column }}_status,
        {{ column }}_values.hashed as {{ column }}_hashed
        {%- endfor %}
    from (
        select
            r.*
            {%- for kind, column in identifiers %},
            nullif(trim(r.{{ column }}), '') as {{ column }}_trimmed,
            {{ clientele.normalize_identifier(kind, 'r.' ~ column) }} as {{ column }}_normalized
            {%- endfor %}
        from ({{ rows }}) as r
    ) as n
    {%- for kind, column in identifiers %}
    left join (
        select raw_value, {{ clientele.pseudonymize(clientele.normalize_identifier(kind, 'raw_value')) }} as hashed
        from (select distinct {{ column }} as raw_value from ({{ rows }}) as r) as v
    ) as {{ column }}_values on {{ column }}_values.raw_value = n.{{ column }}
    {%- endfor %}
{%- endmacro %}

{#- The three staged columns of an identifier column of identified_rows. -#}
{% macro identifier_columns(column) -%}
    {{ column }}_status,
    case when {{ column }}_status = 'ok' then {{ column }}_hashed end as {{ column }}_hash,
    case when {{ column }}_status in ('blocklisted', 'junk_pattern') then lower({{ column }}_trimmed) end as {{ column }}_blocked_value
{%- endmacro %}

{#- A person's name, pseudonymised: used only as a guard signal, never for linking. -#}
{% macro name_hash(expr) -%}
    {{ clientele.pseudonymize("nullif(lower(trim(" ~ expr ~ ")), '')") }}
{%- endmacro %}
