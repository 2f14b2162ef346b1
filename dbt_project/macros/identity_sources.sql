{#- Which staging model carries which identifiers: the one list the identity models loop over. -#}
{% macro identity_sources() -%}
    {{ return([
        {'channel': 'pos_transactions', 'model': 'stg_pos__transactions', 'key': 'transaction_id', 'at': 'occurred_at', 'ids': ['loyalty_id', 'phone'], 'name': 'customer_name_hash'},
        {'channel': 'ecommerce_orders', 'model': 'stg_ecommerce__orders', 'key': 'order_id', 'at': 'ordered_at', 'ids': ['account_id', 'email', 'phone', 'device_id'], 'name': 'customer_name_hash'},
        {'channel': 'app_web_events', 'model': 'stg_app__events', 'key': 'event_id', 'at': 'occurred_at', 'ids': ['device_id', 'account_id'], 'name': none},
        {'channel': 'crm_members', 'model': 'stg_crm__members', 'key': 'member_event_id', 'at': 'occurred_at', 'ids': ['loyalty_id', 'account_id', 'email', 'phone'], 'name': 'full_name_hash'},
        {'channel': 'service_tickets', 'model': 'stg_service__tickets', 'key': 'ticket_id', 'at': 'opened_at', 'ids': ['phone', 'email', 'loyalty_id'], 'name': none},
        {'channel': 'survey_responses', 'model': 'stg_survey__responses', 'key': 'response_id', 'at': 'responded_at', 'ids': ['email', 'loyalty_id'], 'name': none},
        {'channel': 'marketing_events', 'model': 'stg_marketing__events', 'key': 'message_event_id', 'at': 'occurred_at', 'ids': ['email', 'phone', 'device_id'], 'name': none},
    ]) }}
{%- endmacro %}

{#- The identifier types the graph links on, in the column order of int_identifier_records. -#}
{% macro identifier_types() -%}
    {{ return(['email', 'phone', 'loyalty_id', 'account_id', 'device_id']) }}
{%- endmacro %}
