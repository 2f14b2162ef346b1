{#- Generic tests for the journey marts. Each returns the offending rows. -#}

{#- Each weight column sums to 1 within every group (an order's attribution weights). -#}
{% test attribution_weights_sum_to_one(model, group_by, weights) %}
select {{ group_by }}
from {{ model }}
group by {{ group_by }}
having {% for w in weights %}abs(sum({{ w }}) - 1) > 1e-9{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}

{#- Every row of `to` appears in the model (the reverse of relationships). -#}
{% test every_row_has_a_match(model, key, to) %}
select t.{{ key }}
from {{ to }} as t
where not exists (select 1 from {{ model }} as m where m.{{ key }} = t.{{ key }})
{% endtest %}

{% test non_negative(model, column_name) %}
select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}

{#- Rows delivered (landing folder day) more than max_days after the day they happened: a source
    delivering late. They are processed all the same; the test makes the delay visible. -#}
{% test late_arrivals(model, max_days) %}
select touchpoint_id, occurred_at, source_partition
from {{ model }}
where cast(source_partition as date) > {{ dbt.dateadd('day', max_days, 'cast(occurred_at as date)') }}
{% endtest %}
