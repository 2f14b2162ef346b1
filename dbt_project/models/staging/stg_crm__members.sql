{{ config(unique_key='member_event_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'crm_members'), 'member_event_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'crm_members')), [
        ('loyalty_id', 'loyalty_id'),
        ('account_id', 'account_id'),
        ('email', 'email'),
        ('phone', 'phone'),
    ]) }}
),

renamed as (
    select
        member_event_id,
        occurred_at,
        event_type,
        {{ identifier_columns('loyalty_id') }},
        {{ identifier_columns('account_id') }},
        {{ identifier_columns('email') }},
        {{ identifier_columns('phone') }},
        {{ name_hash('full_name') }} as full_name_hash,
        city,
        birth_year,
        tier,
        email_opt_in,
        sms_opt_in,
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
