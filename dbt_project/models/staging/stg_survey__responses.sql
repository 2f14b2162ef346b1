{{ config(unique_key='response_id',
          post_hook="{{ stage_deletions_from_raw(source('raw', 'survey_responses'), 'response_id') }}") }}

with identified as (
    {{ identified_rows(raw_rows_to_stage(source('raw', 'survey_responses')), [
        ('email', 'email'),
        ('loyalty_id', 'loyalty_id'),
    ]) }}
),

renamed as (
    select
        response_id,
        responded_at,
        survey_channel,
        {{ identifier_columns('email') }},
        {{ identifier_columns('loyalty_id') }},
        nps_score,
        case
            when nps_score >= 9 then 'promoter'
            when nps_score >= 7 then 'passive'
            else 'detractor'
        end as nps_category,
        -- Free-text comments may hold personal data: only their presence leaves raw.
        coalesce(length(trim(comment)) > 0, false) as has_comment,
        _partition as source_partition,
        _loaded_at as loaded_at
    from identified
)

select * from renamed
