{#- The median of a column in an aggregate (DuckDB has median(); Postgres and others percentile_cont). -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'clientele')(expr)) }}
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile_approx({{ expr }}, 0.5, 10000)
{%- endmacro %}

{% macro trino__median(expr) -%}
    approx_percentile({{ expr }}, 0.5)
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}
