{#-
    The number of the period of lookback_days + 1 days a timestamp's day falls in (conversion_paths). A
    touchpoint within lookback_days before an order is on a day from the order's day back lookback_days: in the
    order's period or the one before, so the two can be joined on equal periods instead of on the customer alone.
-#}
{% macro lookback_period(at, lookback_days) -%}
    cast(floor(cast({{ dbt.datediff("cast('2000-01-01' as date)", 'cast(' ~ at ~ ' as date)', 'day') }} as {{ type_double() }}) / {{ lookback_days + 1 }}) as bigint)
{%- endmacro %}
