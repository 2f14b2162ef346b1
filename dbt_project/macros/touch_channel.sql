{#- The channel a customer used, from a clickstream or order platform: web, app (iOS and Android), mini_program. -#}
{% macro platform_channel(platform) -%}
    case {{ platform }}
        when 'web' then 'web'
        when 'ios' then 'app'
        when 'android' then 'app'
        when 'mini_program' then 'mini_program'
        else 'unknown'
    end
{%- endmacro %}

{#- What a clickstream event says of the customer's relationship (Ramaswamy's modes): access, participate,
    customise, connect, collaborate. Staging writes it; the profile counts it from the stitched touchpoints. -#}
{% macro behaviour_mode(event_type) -%}
    case
        when {{ event_type }} in ('page_view', 'product_view', 'search', 'login', 'add_to_cart', 'checkout') then 'access'
        when {{ event_type }} = 'review' then 'participate'
        when {{ event_type }} = 'preference_change' then 'customise'
        when {{ event_type }} = 'share' then 'connect'
        when {{ event_type }} = 'idea_submitted' then 'collaborate'
    end
{%- endmacro %}
