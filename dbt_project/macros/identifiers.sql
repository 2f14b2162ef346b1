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

{% macro identifier_status(kind, expr) -%}
    {%- set normalized = clientele.normalize_identifier(kind, expr) -%}
    {%- set blocklist = var('identifier_blocklist')[kind] if kind in var('identifier_blocklist') else var('identifier_blocklist')['other'] -%}
    {%- set listed -%}({% for v in blocklist %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor %}){%- endset -%}
    case
        when nullif(trim({{ expr }}), '') is null then null
        when lower(trim({{ expr }})) in {{ listed }} or {{ normalized }} in {{ listed }} then 'blocklisted'
        {%- if kind == 'phone' %}
        when {{ normalized }} is null or length({{ normalized }}) not between 9 and 16 then 'invalid'
        when replace(substring({{ normalized }}, 2), substring({{ normalized }}, 2, 1), '') = '' then 'junk_pattern'
        {%- elif kind == 'email' %}
        when {{ normalized }} not like '%_@_%._%' or {{ normalized }} like '% %' then 'invalid'
        {%- endif %}
        else 'ok'
    end
{%- endmacro %}

{% macro identifier_columns(kind, expr, name=none) -%}
    {%- set name = name or kind -%}
    {%- set status = clientele.identifier_status(kind, expr) -%}
    {{ status }} as {{ name }}_status,
    case when ({{ status }}) = 'ok' then {{ clientele.pseudonymize(clientele.normalize_identifier(kind, expr)) }} end as {{ name }}_hash,
    case when ({{ status }}) in ('blocklisted', 'junk_pattern') then lower(trim({{ expr }})) end as {{ name }}_blocked_value
{%- endmacro %}

{#- A person's name, pseudonymised: used only as a guard signal, never for linking. -#}
{% macro name_hash(expr) -%}
    {{ clientele.pseudonymize("nullif(lower(trim(" ~ expr ~ ")), '')") }}
{%- endmacro %}
