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
