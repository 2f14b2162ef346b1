{#- 64-bit floating point. dbt.type_float() renders FLOAT, which is 32-bit on DuckDB and loses cents. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'clientele')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}
