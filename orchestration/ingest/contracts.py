"""Channel contracts: the single source for parsing, quality suites and docs.

Each landing channel has one contract: its columns with type, whether they are
required, allowed values and bounds, and which columns carry customer
identifiers. The loader validates rows against it, ``expectations/`` derives
the raw suites from it, and ``clientele contracts`` prints it for the docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "integer", "decimal", "timestamp", "boolean"]
IdentifierType = Literal["email", "phone", "loyalty_id", "account_id", "device_id"]
IDENTIFIER_TYPES: tuple[IdentifierType, ...] = ("email", "phone", "loyalty_id", "account_id", "device_id")

# Timestamps outside this window are impossible for this business (far future
# or before it existed); the loader quarantines them. The CDNOW import (1997)
# widens it through the contract's ``earliest`` argument.
EARLIEST_TIMESTAMP = "1990-01-01"
LATEST_TIMESTAMP_SLACK_DAYS = 2


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "string"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    identifier: IdentifierType | None = None
    personal: bool = False  # raw personal data: may exist only in the raw schema
    refers_to: IdentifierType | None = None  # another person's identifier (a referrer): erased where it names one
    description: str = ""


@dataclass(frozen=True)
class ChannelContract:
    name: str
    description: str
    key: str
    event_time: str
    columns: tuple[Column, ...]
    default_format: Literal["csv", "jsonl", "parquet"] = "csv"
    default_encoding: str = "utf-8"
    require_any_identifier: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def identifier_columns(self) -> dict[str, IdentifierType]:
        return {c.name: c.identifier for c in self.columns if c.identifier}

    @property
    def personal_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.personal]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _id(name: str, kind: IdentifierType, personal: bool = False) -> Column:
    return Column(name, identifier=kind, personal=personal, description=f"{kind} identifier")


_AMOUNT = dict(type="decimal", minimum=0.0, maximum=50_000.0)

CONTRACTS: dict[str, ChannelContract] = {
    c.name: c
    for c in [
        ChannelContract(
            name="pos_transactions",
            description="A store sale or refund rung up at a till.",
            key="transaction_id",
            event_time="occurred_at",
            default_format="csv",
            require_any_identifier=False,  # cash sales to walk-in customers are anonymous
            columns=(
                Column("transaction_id", required=True, description="Till receipt number, unique"),
                Column("store_id", required=True),
                Column("occurred_at", "timestamp", required=True),
                Column("transaction_type", required=True, allowed=("sale", "refund")),
                _id("loyalty_id", "loyalty_id"),
                _id("phone", "phone", personal=True),
                Column("customer_name", personal=True),
                Column("amount", required=True, description="Gross amount, always positive", **_AMOUNT),  # type: ignore[arg-type]
                Column("items", "integer", minimum=1, maximum=1_000),
                Column("payment_method", allowed=("cash", "card", "mobile", "voucher")),
            ),
        ),
        ChannelContract(
            name="ecommerce_orders",
            description="An order placed on the web shop, the app or the mini-program.",
            key="order_id",
            event_time="ordered_at",
            default_format="jsonl",
            columns=(
                Column("order_id", required=True),
                Column("ordered_at", "timestamp", required=True),
                Column("platform", required=True, allowed=("web", "ios", "android", "mini_program")),
                _id("account_id", "account_id"),
                _id("email", "email", personal=True),
                _id("phone", "phone", personal=True),
                _id("device_id", "device_id"),
                Column("customer_name", personal=True),
                Column("shipping_address", personal=True),
                Column("shipping_city"),
                Column("amount", required=True, **_AMOUNT),  # type: ignore[arg-type]
                Column("items", "integer", minimum=1, maximum=1_000),
                Column("status", required=True, allowed=("placed", "shipped", "delivered", "cancelled", "returned")),
                Column("utm_source"),
                Column("referrer_account_id", refers_to="account_id", description="Account that referred this customer"),
            ),
        ),
        ChannelContract(
            name="app_web_events",
            description="A clickstream event from the web site or the app.",
            key="event_id",
            event_time="occurred_at",
            default_format="parquet",
            columns=(
                Column("event_id", required=True),
                Column("occurred_at", "timestamp", required=True),
                Column(
                    "event_type",
                    required=True,
                    allowed=(
                        "page_view", "product_view", "search", "add_to_cart", "checkout", "login",
                        "share", "review", "preference_change", "idea_submitted",
                    ),
                ),
                Column("device_id", required=True, identifier="device_id"),
                _id("account_id", "account_id"),
                Column("platform", allowed=("web", "ios", "android", "mini_program")),
                Column("page"),
                Column("product_id"),
                Column("search_query"),
                Column("utm_source"),
                Column("utm_medium"),
                Column("utm_campaign"),
            ),
        ),
        ChannelContract(
            name="crm_members",
            description="A loyalty member sign-up or profile change, consent included.",
            key="member_event_id",
            event_time="occurred_at",
            default_format="csv",
            default_encoding="utf-8",
            columns=(
                Column("member_event_id", required=True),
                Column("occurred_at", "timestamp", required=True),
                Column("event_type", required=True, allowed=("sign_up", "profile_update", "consent_change", "cancel")),
                Column("loyalty_id", required=True, identifier="loyalty_id"),
                _id("account_id", "account_id"),
                _id("email", "email", personal=True),
                _id("phone", "phone", personal=True),
                Column("full_name", personal=True),
                Column("address", personal=True),
                Column("city"),
                Column("birth_year", "integer", minimum=1900, maximum=2025),
                Column("tier", allowed=("basic", "silver", "gold")),
                Column("email_opt_in", "boolean"),
                Column("sms_opt_in", "boolean"),
            ),
        ),
        ChannelContract(
            name="service_tickets",
            description="A customer service contact with response and resolution times and CSAT.",
            key="ticket_id",
            event_time="opened_at",
            default_format="csv",
            require_any_identifier=False,  # anonymous chats still count for service KPIs
            columns=(
                Column("ticket_id", required=True),
                Column("opened_at", "timestamp", required=True),
                Column("contact_channel", required=True, allowed=("phone", "email", "chat", "store")),
                Column("category", allowed=("delivery", "product", "billing", "account", "complaint", "other")),
                _id("phone", "phone", personal=True),
                _id("email", "email", personal=True),
                _id("loyalty_id", "loyalty_id"),
                Column("first_response_at", "timestamp"),
                Column("resolved_at", "timestamp"),
                Column("csat", "integer", minimum=1, maximum=5),
                Column("status", required=True, allowed=("open", "resolved", "escalated")),
            ),
        ),
        ChannelContract(
            name="survey_responses",
            description="An NPS answer (0-10) with an optional comment.",
            key="response_id",
            event_time="responded_at",
            default_format="jsonl",
            require_any_identifier=False,  # anonymous answers still count for NPS
            columns=(
                Column("response_id", required=True),
                Column("responded_at", "timestamp", required=True),
                Column("survey_channel", allowed=("email", "app", "store", "web")),
                _id("email", "email", personal=True),
                _id("loyalty_id", "loyalty_id"),
                Column("nps_score", "integer", required=True, minimum=0, maximum=10),
                Column("comment", personal=True),
            ),
        ),
        ChannelContract(
            name="marketing_events",
            description="A campaign message event: sent, delivered, opened, clicked, unsubscribed, bounced.",
            key="message_event_id",
            event_time="occurred_at",
            default_format="parquet",
            columns=(
                Column("message_event_id", required=True),
                Column("occurred_at", "timestamp", required=True),
                Column("campaign_id", required=True),
                Column("message_channel", required=True, allowed=("email", "sms", "push")),
                Column(
                    "event_type",
                    required=True,
                    allowed=("sent", "delivered", "opened", "clicked", "unsubscribed", "bounced"),
                ),
                _id("email", "email", personal=True),
                _id("phone", "phone", personal=True),
                _id("device_id", "device_id"),
            ),
        ),
        ChannelContract(
            name="privacy_requests",
            description="A data subject's erasure or marketing opt-out request.",
            key="request_id",
            event_time="requested_at",
            default_format="jsonl",
            require_any_identifier=False,  # the identifier is in identifier_value
            columns=(
                Column("request_id", required=True),
                Column("requested_at", "timestamp", required=True),
                Column("request_type", required=True, allowed=("erasure", "opt_out")),
                Column("identifier_type", required=True, allowed=IDENTIFIER_TYPES),
                Column("identifier_value", required=True, personal=True),
            ),
        ),
    ]
}

CHANNELS: tuple[str, ...] = tuple(CONTRACTS)


def contract_markdown() -> str:
    """The contracts as Markdown tables, for docs/channels.md and the UI."""
    lines: list[str] = []
    for contract in CONTRACTS.values():
        lines += [
            f"## {contract.name}",
            "",
            f"{contract.description} Key: `{contract.key}`; event time: `{contract.event_time}`; "
            f"default format: {contract.default_format}, encoding {contract.default_encoding}.",
            "",
            "| column | type | required | allowed / range | identifier | personal |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in contract.columns:
            rule = ", ".join(c.allowed) if c.allowed else (
                f"{c.minimum:g} .. {c.maximum:g}" if c.minimum is not None and c.maximum is not None else ""
            )
            lines.append(
                f"| {c.name} | {c.type} | {'yes' if c.required else ''} | {rule} | {c.identifier or ''} | "
                f"{'yes' if c.personal else ''} |"
            )
        lines.append("")
    return "\n".join(lines)
