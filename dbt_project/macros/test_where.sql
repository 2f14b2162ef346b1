{#-
    dbt's `where` of a test, with one placeholder: __latest_build__, the newest built_at of the tested model.
    The incremental touchpoints' tests say `built_at = __latest_build__`: they look at the rows the latest
    build wrote (all of them after a full rebuild), not again at 60 million rows a night at a million customers.
    dbt documents overriding this macro for placeholders in `where` (resource-configs/where, "Custom logic").
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__latest_build__', '(select max(built_at) from ' ~ relation ~ ')') -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
