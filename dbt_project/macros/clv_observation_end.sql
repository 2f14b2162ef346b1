{#-
    The CLV cut-off date as a SQL expression over an `order_date` column: the dbt variable
    clv_cutoff_date when set, else the day of the latest order (an aggregate, so use it in a
    select over orders). One definition for the RFM summary and its holdout split.
-#}
{% macro clv_observation_end() -%}
    {%- set cutoff = var('clv_cutoff_date') -%}
    {%- if cutoff -%}cast('{{ cutoff }}' as date){%- else -%}max(order_date){%- endif -%}
{%- endmacro %}
