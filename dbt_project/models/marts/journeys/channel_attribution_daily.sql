{#-
    One row per (conversion day, conversion type, channel, attribution rule) that the rule gives
    any credit: orders and revenue attributed to the channel. Summed over channels, each rule
    gives back the day's orders and revenue.
-#}
{%- set rules = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] -%}

{% for rule in rules %}
select
    order_date as conversion_date,
    conversion_type,
    channel,
    '{{ rule }}' as attribution_model,
    sum({{ rule }}_weight) as attributed_orders,
    sum({{ rule }}_weight * order_amount) as attributed_revenue
from {{ ref('conversion_paths') }}
where {{ rule }}_weight > 0
group by order_date, conversion_type, channel
{% if not loop.last %}union all{% endif %}
{% endfor %}
