{#-
    Keyed hash (HMAC-SHA256, RFC 2104) of a normalised identifier, as lower-case hex.
    HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)); the two padded keys are put
    into session variables by orchestration/privacy/dbt_plugin.py, so no key material
    is ever rendered into compiled SQL. Other engines need their own implementation.
-#}
{% macro pseudonymize(expr) -%}
    {{ return(adapter.dispatch('pseudonymize', 'clientele')(expr)) }}
{%- endmacro %}

{% macro duckdb__pseudonymize(expr) -%}
    case when {{ expr }} is not null then
        sha256(getvariable('clientele_hmac_outer') || unhex(sha256(getvariable('clientele_hmac_inner') || encode({{ expr }}))))
    end
{%- endmacro %}

{% macro default__pseudonymize(expr) -%}
    {{ exceptions.raise_compiler_error("pseudonymize(): no HMAC-SHA256 implementation for " ~ target.type) }}
{%- endmacro %}
