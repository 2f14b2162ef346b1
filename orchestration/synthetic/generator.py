"""Omnichannel demo data with a known truth.

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): while alive a
customer buys at Poisson rate lambda ~ Gamma(r, alpha); after every purchase
she drops out with probability p ~ Beta(a, b). Spend per purchase follows the
Gamma-Gamma model (Fader & Hardie 2013): z ~ Gamma(p_gg, nu), nu ~ Gamma(q, gamma).
Time is in days. The parameters are written to ``ground_truth/parameters.json``
so the fitted CLV model can be compared with the process that made the data.

Every person carries several identifiers and shows only some of them per
channel. Traps a real business has are built in: a family tablet shared by
several people, a store's own phone number typed for walk-in customers,
phone numbers recycled to a new person, junk values such as ``test@test.com``.

Persons are generated in chunks (own random stream per chunk, so output is
deterministic for a seed and memory stays bounded); each chunk writes its own
part file per channel and day: ``landing/<channel>/<YYYY-MM-DD>/part-<chunk>.<ext>``.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.ingest.contracts import CONTRACTS
from orchestration.synthetic import names as N

DEFAULT_END = date(2026, 10, 31)
STORE_COUNT = 25
CHUNK_SIZE = 50_000
# How each channel is written; crm_members comes from a Chinese CRM that exports GB18030.
FILE_FORMATS = {
    "pos_transactions": ("csv", "utf-8"),
    "ecommerce_orders": ("jsonl", "utf-8"),
    "app_web_events": ("parquet", None),
    "crm_members": ("csv", "gb18030"),
    "service_tickets": ("csv", "utf-8"),
    "survey_responses": ("jsonl.gz", "utf-8"),
    "marketing_events": ("parquet", None),
    "privacy_requests": ("jsonl", "utf-8"),
}
JUNK_EMAILS = ["test@test.com", "n/a", "null", "noemail@noemail.com"]
JUNK_PHONES = ["00000000000", "n/a", "12345678901"]


@dataclass(frozen=True)
class TrueParameters:
    """The generating process, in days (BG/NBD) and currency units (Gamma-Gamma)."""

    r: float = 0.55
    alpha: float = 35.0
    a: float = 0.85
    b: float = 3.5
    p: float = 6.0
    q: float = 3.8
    v: float = 45.0


@dataclass(frozen=True)
class GeneratorConfig:
    customers: int = 20_000
    days: int = 365
    seed: int = 42
    end: date = DEFAULT_END
    bad_row_rate: float = 0.0
    prospect_share: float = 0.12
    # Share of clickstream and campaign events delivered 1-3 days after they happened (apps buffer offline,
    # e-mail trackers report opens late): the incremental journey models must still pick them up.
    late_delivery_share: float = 0.02
    params: TrueParameters = field(default_factory=TrueParameters)

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass
class GenerationReport:
    rows_per_channel: dict[str, int]
    files_written: int
    persons: int
    buyers: int
    purchases: int
    bad_rows: dict[str, int]


def generate(config: GeneratorConfig, out_dir: Path) -> GenerationReport:
    """Write landing files for every channel plus the ground truth beside them."""
    landing = Path(out_dir)
    truth = landing.parent / "ground_truth"
    for folder in (landing, truth):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    (truth / "records").mkdir()
    (landing / "crm_members").mkdir()
    (landing / "crm_members" / "_source.json").write_text(json.dumps({"encoding": "gb18030"}) + "\n")

    rows = {c: 0 for c in CONTRACTS}
    bad = {c: 0 for c in CONTRACTS}
    files = 0
    persons_total = buyers_total = purchases_total = 0
    first_index = 0
    for chunk, start in enumerate(range(0, config.customers, CHUNK_SIZE)):
        size = min(CHUNK_SIZE, config.customers - start)
        rng = np.random.default_rng([config.seed, chunk])
        people = _people(rng, config, first_index, size)
        frames = _channels(rng, config, people, chunk)
        people_truth = people[["person_id", "buyer", "lam", "p_drop", "nu"]]
        people_truth.to_parquet(truth / f"persons-{chunk:04d}.parquet", index=False)
        ids = _identifier_truth(people)
        ids.to_parquet(truth / f"identifiers-{chunk:04d}.parquet", index=False)
        for channel, frame in frames.items():
            if frame.empty:
                continue
            key = CONTRACTS[channel].key
            frame[[key, "_person_id"]].rename(columns={key: "record_id", "_person_id": "person_id"}).assign(
                channel=channel
            ).to_parquet(truth / "records" / f"{channel}-{chunk:04d}.parquet", index=False)
            frame = frame.drop(columns="_person_id")
            frame["_day"] = _delivery_day(config, chunk, channel, pd.to_datetime(frame[CONTRACTS[channel].event_time]))
            if config.bad_row_rate > 0 and channel != "privacy_requests":
                frame, n_bad = _inject_bad_rows(rng, frame, channel, config.bad_row_rate)
                bad[channel] += n_bad
            rows[channel] += len(frame)
            files += _write_daily(frame, landing / channel, channel, chunk)
        persons_total += size
        buyers_total += int(people["buyer"].sum())
        purchases_total += int(len(frames["pos_transactions"]) + len(frames["ecommerce_orders"]))
        first_index += size

    (truth / "parameters.json").write_text(
        json.dumps(
            {
                "model": "BG/NBD (daily units) + Gamma-Gamma",
                "parameters": asdict(config.params),
                "customers": config.customers,
                "days": config.days,
                "start": config.start.isoformat(),
                "end": config.end.isoformat(),
                "seed": config.seed,
                "bad_row_rate": config.bad_row_rate,
                "bad_rows": bad,
            },
            indent=2,
        )
        + "\n"
    )
    return GenerationReport(rows, files, persons_total, buyers_total, purchases_total, bad)


# --------------------------------------------------------------------------- people


def _people(rng: np.random.Generator, cfg: GeneratorConfig, first: int, n: int) -> pd.DataFrame:
    prm = cfg.params
    idx = np.arange(first, first + n)
    chinese = rng.random(n) < 0.45
    sur = rng.integers(0, len(N.CHINESE_SURNAMES), n)
    giv = rng.integers(0, len(N.CHINESE_GIVEN), n)
    wf = rng.integers(0, len(N.WESTERN_FIRST), n)
    wl = rng.integers(0, len(N.WESTERN_LAST), n)
    city = rng.integers(0, 8, n)
    names, local_parts, addresses, cities = [], [], [], []
    for i in range(n):
        if chinese[i]:
            s, sp = N.CHINESE_SURNAMES[sur[i]]
            g, gp = N.CHINESE_GIVEN[giv[i]]
            c, district, road = N.CHINESE_CITIES[city[i] % len(N.CHINESE_CITIES)]
            names.append(s + g)
            local_parts.append(f"{gp}.{sp}")
            addresses.append(f"{c}{district}{road}{(idx[i] % 300) + 1}号")
            cities.append(c)
        else:
            f, last = N.WESTERN_FIRST[wf[i]], N.WESTERN_LAST[wl[i]]
            c, road = N.WESTERN_CITIES[city[i] % len(N.WESTERN_CITIES)]
            names.append(f"{f} {last}")
            local_parts.append(f"{f}.{last}".lower().replace("'", "").replace(" ", ""))
            addresses.append(f"{(idx[i] % 200) + 1} {road}, {c}")
            cities.append(c)
    awkward = rng.random(n) < 0.003
    for i in np.flatnonzero(awkward):
        names[i] = N.AWKWARD_NAMES[i % len(N.AWKWARD_NAMES)]
    domains = np.array(N.EMAIL_DOMAINS)[rng.integers(0, len(N.EMAIL_DOMAINS), n)]
    emails = [f"{lp}{i}@{d}" for lp, i, d in zip(local_parts, idx, domains, strict=True)]
    # Chinese mobiles 1[3-9]x, UK mobiles 07xxx; both unique per person.
    phones = np.where(
        chinese,
        [f"+86 13{8 + (i % 2)}{i % 100_000_000:08d}" for i in idx],
        [f"+44 7700 {i % 1_000_000:06d}" for i in idx],
    )
    buyer = rng.random(n) >= cfg.prospect_share
    member = rng.random(n) < np.where(buyer, 0.5, 0.2)
    online = rng.random(n) < 0.65
    has_email = rng.random(n) < 0.92
    has_phone = rng.random(n) < 0.85
    devices = rng.integers(1, 3, n)
    device_ids = [[f"dev-{rng.bytes(6).hex()}" for _ in range(k)] for k in devices]
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:08d}" for i in idx],
            "name": names,
            "address": addresses,
            "city": cities,
            "chinese": chinese,
            "email": np.where(has_email, emails, None),
            "phone": np.where(has_phone, phones, None),
            "loyalty_id": np.where(member, [f"L{i:09d}" for i in idx], None),
            "account_id": np.where(online, [f"A{i:09d}" for i in idx], None),
            "devices": device_ids,
            "buyer": buyer,
            "member": member,
            "online": online,
            "store_share": np.where(online, rng.uniform(0.0, 0.7, n), rng.uniform(0.85, 1.0, n)),
            "home_store": rng.integers(1, STORE_COUNT + 1, n),
            "birth_year": rng.integers(1950, 2006, n),
            "email_opt_in": rng.random(n) < 0.6,
            "sms_opt_in": rng.random(n) < 0.4,
            "lam": rng.gamma(prm.r, 1.0 / prm.alpha, n),
            "p_drop": rng.beta(prm.a, prm.b, n),
            "nu": rng.gamma(prm.q, 1.0 / prm.v, n),
            "born": rng.uniform(0, cfg.days, n),
        }
    )
    # Trap: a family tablet shared by 2-4 people (each logs in with their own account).
    app_users = np.flatnonzero(online)
    n_families = max(1, int(len(app_users) * 0.01))
    for fam in range(n_families):
        members = rng.choice(app_users, size=rng.integers(2, 5), replace=False)
        tablet = f"dev-family-{first + fam:07d}"
        for m in members:
            frame.at[m, "devices"] = list(frame.at[m, "devices"]) + [tablet]
    # Trap: recycled phone numbers, a new subscriber gets a lapsed customer's number.
    n_recycled = max(1, int(n * 0.003))
    donors = rng.choice(np.flatnonzero(has_phone), size=n_recycled, replace=False)
    takers = rng.choice(np.setdiff1d(np.arange(n), donors), size=n_recycled, replace=False)
    frame.loc[takers, "phone"] = frame.loc[donors, "phone"].to_numpy()
    return frame


def _identifier_truth(people: pd.DataFrame) -> pd.DataFrame:
    """True owner(s) of every identifier value (a recycled phone has two)."""
    parts = []
    for kind in ("email", "phone", "loyalty_id", "account_id"):
        sub = people[["person_id", kind]].dropna()
        parts.append(pd.DataFrame({"identifier_type": kind, "value": sub[kind], "person_id": sub["person_id"]}))
    dev = people[["person_id", "devices"]].explode("devices")
    parts.append(pd.DataFrame({"identifier_type": "device_id", "value": dev["devices"], "person_id": dev["person_id"]}))
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- channels


def _to_ts(cfg: GeneratorConfig, day_offsets: np.ndarray) -> pd.Series:
    base = np.datetime64(cfg.start.isoformat(), "s")
    return pd.Series(base + (np.asarray(day_offsets) * 86_400).astype("int64").astype("timedelta64[s]"))


def _purchases(rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD purchase times and Gamma-Gamma spend for every buyer."""
    buyers = people.index[people["buyer"]].to_numpy()
    lam = people["lam"].to_numpy()[buyers]
    p = people["p_drop"].to_numpy()[buyers]
    born = people["born"].to_numpy()[buyers]
    # BG/NBD (Fader, Hardie and Lee 2005, assumption iii): a customer may drop out after each repeat
    # purchase, never right after the first one, so the repeat purchases before dropout are geometric on 1, 2, ...
    n_repeat = np.minimum(rng.geometric(p), 400)
    owner = np.repeat(np.arange(len(buyers)), n_repeat)
    gaps = rng.exponential(1.0, owner.size) / lam[owner]
    starts = np.concatenate([[0], np.cumsum(n_repeat)[:-1]])
    csum = np.cumsum(gaps)
    offsets = csum - np.repeat(csum[starts] - gaps[starts], n_repeat) if owner.size else csum
    times = born[owner] + offsets
    keep = times < cfg.days
    person_pos = np.concatenate([np.arange(len(buyers)), owner[keep]])
    t = np.concatenate([born, times[keep]])
    nu = people["nu"].to_numpy()[buyers][person_pos]
    amount = np.round(np.maximum(rng.gamma(cfg.params.p, 1.0 / nu), 0.01), 2)
    out = pd.DataFrame({"row": buyers[person_pos], "t": t, "amount": amount})
    return out.sort_values(["row", "t"], kind="stable").reset_index(drop=True)


def _maybe(rng: np.random.Generator, values: pd.Series, prob: float) -> pd.Series:
    keep = rng.random(len(values)) < prob
    return values.where(keep, None)


def _channels(rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame, chunk: int) -> dict[str, pd.DataFrame]:
    purchases = _purchases(rng, cfg, people)
    per = people.loc[purchases["row"]].reset_index(drop=True)
    in_store = (rng.random(len(purchases)) < per["store_share"].to_numpy()) | per["account_id"].isna().to_numpy()
    frames: dict[str, pd.DataFrame] = {}

    # ---- POS
    pos_rows = purchases[in_store].reset_index(drop=True)
    pp = per[in_store].reset_index(drop=True)
    n = len(pos_rows)
    shows_card = pp["loyalty_id"].notna().to_numpy() & (rng.random(n) < 0.9)
    gives_phone = ~shows_card & pp["phone"].notna().to_numpy() & (rng.random(n) < 0.6)
    store = np.where(rng.random(n) < 0.85, pp["home_store"], rng.integers(1, STORE_COUNT + 1, n))
    phone = np.where(gives_phone, pp["phone"], None).astype(object)
    # Trap: cashiers type the store's own number for walk-in customers.
    typed_store_phone = ~shows_card & ~gives_phone & (rng.random(n) < 0.08)
    phone[typed_store_phone] = [f"+44 20 7946 {s:04d}" for s in store[typed_store_phone]]
    junk = gives_phone & (rng.random(n) < 0.005)
    phone[junk] = rng.choice(JUNK_PHONES, int(junk.sum()))
    pos = pd.DataFrame(
        {
            "transaction_id": [f"T{chunk:03d}-{i:09d}" for i in range(n)],
            "store_id": [f"S{s:03d}" for s in store],
            "occurred_at": _to_ts(cfg, pos_rows["t"]),
            "transaction_type": "sale",
            "loyalty_id": np.where(shows_card, pp["loyalty_id"], None),
            "phone": _reformat_phones(rng, pd.Series(phone)),
            # The cashier asks a name when typing a number, including the store's own.
            "customer_name": np.where(shows_card | gives_phone | typed_store_phone, pp["name"], None),
            "amount": pos_rows["amount"].map("{:.2f}".format),
            "items": rng.integers(1, 8, n),
            "payment_method": rng.choice(["cash", "card", "mobile", "voucher"], n, p=[0.15, 0.5, 0.3, 0.05]),
            "_person_id": pp["person_id"],
        }
    )
    # Refunds are extra rows: they are not purchases in the BG/NBD sense.
    refunds = pos.sample(frac=0.01, random_state=int(rng.integers(1 << 31))).copy()
    refunds["transaction_id"] = refunds["transaction_id"] + "-R"
    refunds["transaction_type"] = "refund"
    refunds["occurred_at"] = refunds["occurred_at"] + pd.Timedelta(days=3)
    refunds = refunds[refunds["occurred_at"] < pd.Timestamp(cfg.end + timedelta(days=1))]
    frames["pos_transactions"] = pd.concat([pos, refunds], ignore_index=True)

    # ---- e-commerce orders
    web_rows = purchases[~in_store].reset_index(drop=True)
    wp = per[~in_store].reset_index(drop=True)
    n = len(web_rows)
    email = _maybe(rng, wp["email"], 0.95).to_numpy(dtype=object)
    junk = rng.random(n) < 0.005
    email[junk] = rng.choice(JUNK_EMAILS, int(junk.sum()))
    main_device = wp["devices"].map(lambda d: d[0])
    first_order = ~web_rows.duplicated("row")
    referred = first_order.to_numpy() & (rng.random(n) < 0.04)
    referrers = people["account_id"].dropna().to_numpy()
    orders = pd.DataFrame(
        {
            "order_id": [f"O{chunk:03d}-{i:09d}" for i in range(n)],
            "ordered_at": _to_ts(cfg, web_rows["t"]),
            "platform": rng.choice(["web", "ios", "android", "mini_program"], n, p=[0.35, 0.25, 0.25, 0.15]),
            # Guest checkouts leave the account out; an order carries an account or an e-mail, never neither.
            "account_id": _maybe(rng, wp["account_id"], 0.97).where(lambda a: a.notna() | pd.notna(email), wp["account_id"]),
            "email": _email_case(rng, pd.Series(email)),
            "phone": _reformat_phones(rng, _maybe(rng, wp["phone"], 0.5)),
            "device_id": _maybe(rng, main_device, 0.8),
            "customer_name": wp["name"],
            "shipping_address": wp["address"],
            "shipping_city": wp["city"],
            "amount": web_rows["amount"].map("{:.2f}".format),
            "items": rng.integers(1, 8, n),
            "status": rng.choice(["delivered", "shipped", "placed", "returned"], n, p=[0.85, 0.08, 0.05, 0.02]),
            "utm_source": rng.choice(["google", "wechat", "newsletter", "direct", "instagram"], n),
            "referrer_account_id": np.where(
                referred & (len(referrers) > 0), rng.choice(referrers, n) if len(referrers) else None, None
            ),
            "_person_id": wp["person_id"],
        }
    )
    orders.loc[orders["referrer_account_id"] == orders["account_id"], "referrer_account_id"] = None
    # Cancelled orders are extra rows, not purchases.
    cancelled = orders.sample(frac=0.02, random_state=int(rng.integers(1 << 31))).copy()
    cancelled["order_id"] = cancelled["order_id"] + "-C"
    cancelled["status"] = "cancelled"
    frames["ecommerce_orders"] = pd.concat([orders, cancelled], ignore_index=True)

    frames["app_web_events"] = _clickstream(rng, cfg, people, orders, chunk)
    frames["crm_members"] = _crm(rng, cfg, people, chunk)
    frames["service_tickets"] = _service(rng, cfg, purchases, people, chunk)
    frames["survey_responses"] = _surveys(rng, cfg, purchases, people, chunk)
    frames["marketing_events"] = _marketing(rng, cfg, people, frames["ecommerce_orders"], chunk)
    frames["privacy_requests"] = _privacy(rng, cfg, people, chunk)
    return frames


def _reformat_phones(rng: np.random.Generator, phones: pd.Series) -> pd.Series:
    """Write the same number the ways people type it: spaces, no prefix, national form."""
    style = rng.integers(0, 3, len(phones))

    def fmt(value: object, s: int) -> object:
        if not isinstance(value, str) or not value.startswith("+"):
            return value
        compact = value.replace(" ", "")
        if s == 0:
            return value
        if s == 1:
            return compact
        if compact.startswith("+86"):
            return compact[3:]  # Chinese mobile without country code
        if compact.startswith("+44"):
            return "0" + compact[3:]  # UK national form
        return compact

    return pd.Series([fmt(v, s) for v, s in zip(phones, style, strict=True)], dtype=object)


def _email_case(rng: np.random.Generator, emails: pd.Series) -> pd.Series:
    """Some systems keep what people typed: upper case and stray spaces."""
    noisy = rng.random(len(emails)) < 0.1
    return pd.Series(
        [f"  {e.upper()} " if isinstance(e, str) and x else e for e, x in zip(emails, noisy, strict=True)],
        dtype=object,
    )


def _clickstream(
    rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame, orders: pd.DataFrame, chunk: int
) -> pd.DataFrame:
    """Sessions before every online order plus browsing sessions; anonymous until login."""
    app = people[people["online"] | (rng.random(len(people)) < 0.1)]
    # Browsing sessions: about one every three weeks between arrival and the window's end.
    active_days = np.maximum(cfg.days - app["born"].to_numpy() + 30, 1)
    n_sessions = rng.poisson(active_days / 21.0)
    owner = np.repeat(np.arange(len(app)), n_sessions)
    start = np.clip(app["born"].to_numpy()[owner] - 30 + rng.random(owner.size) * active_days[owner], 0, cfg.days - 0.01)
    sess = pd.DataFrame({"pos": owner, "t": start, "order": False})
    # A shopping session ends in each online order.
    row_of = pd.Series(np.arange(len(app)), index=app["person_id"])
    ord_pos = orders["_person_id"].map(row_of)
    has = ord_pos.notna().to_numpy()
    ts = (orders["ordered_at"] - pd.Timestamp(cfg.start)).dt.total_seconds().to_numpy() / 86_400
    sess = pd.concat(
        [sess, pd.DataFrame({"pos": ord_pos[has].astype(int).to_numpy(), "t": ts[has], "order": True})],
        ignore_index=True,
    )
    k = len(sess)
    n_events = np.where(sess["order"], rng.integers(4, 9, k), rng.integers(1, 7, k))
    ev_sess = np.repeat(np.arange(k), n_events)
    ev_no = np.arange(ev_sess.size) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    ev_count = n_events[ev_sess]
    is_order = sess["order"].to_numpy()[ev_sess]
    # Events 40-200 s apart; an ordering session's last event is the checkout at order time.
    secs = ev_no * rng.integers(40, 200, ev_sess.size)
    t0 = sess["t"].to_numpy()[ev_sess]
    offset_days = np.where(is_order, t0 - (np.repeat(n_events, n_events) * 200 - secs) / 86_400, t0 + secs / 86_400)
    offset_days = np.clip(offset_days, 0, cfg.days - 1e-6)
    login_at = np.where(sess["order"], n_events - 3, rng.integers(1, 4, k))[ev_sess]
    types = rng.choice(["page_view", "product_view", "search", "product_view"], ev_sess.size)
    types = np.where(ev_no == 0, "page_view", types)
    types = np.where(is_order & (ev_no == ev_count - 1), "checkout", types)
    types = np.where(is_order & (ev_no == ev_count - 2), "add_to_cart", types)
    types = np.where(ev_no == login_at, "login", types)
    engaged = (~is_order) & (ev_no > login_at) & (rng.random(ev_sess.size) < 0.08)
    types = np.where(
        engaged,
        rng.choice(["share", "review", "preference_change", "idea_submitted"], ev_sess.size, p=[0.4, 0.35, 0.2, 0.05]),
        types,
    )
    person = app.iloc[sess["pos"].to_numpy()[ev_sess]]
    # One device per session (people switch devices between visits, not between clicks).
    device = np.array([d[int(x) % len(d)] for d, x in zip(person["devices"], rng.integers(0, 9, k)[ev_sess], strict=True)])
    logged_in = (ev_no >= login_at) & person["account_id"].notna().to_numpy()
    utm = rng.choice(["google", "wechat", "newsletter", "direct", "instagram"], k)[ev_sess]
    return pd.DataFrame(
        {
            "event_id": [f"E{chunk:03d}-{i:010d}" for i in range(ev_sess.size)],
            "occurred_at": _to_ts(cfg, offset_days),
            "event_type": types,
            "device_id": device,
            "account_id": np.where(logged_in, person["account_id"], None),
            "platform": rng.choice(["web", "ios", "android", "mini_program"], k)[ev_sess],
            "page": np.where(types == "search", "/search", "/p/" + (rng.integers(1, 500, ev_sess.size)).astype(str)),
            "product_id": np.where(np.isin(types, ["product_view", "add_to_cart"]), "SKU" + rng.integers(1000, 9999, ev_sess.size).astype(str), None),
            "search_query": np.where(types == "search", rng.choice(["跑鞋", "coat", "连衣裙", "gift", "headphones"], ev_sess.size), None),
            "utm_source": np.where(ev_no == 0, utm, None),
            "utm_medium": np.where(ev_no == 0, np.where(utm == "newsletter", "email", "cpc"), None),
            "utm_campaign": np.where((ev_no == 0) & (utm == "newsletter"), "C" + rng.integers(1, 25, ev_sess.size).astype(str), None),
            "_person_id": person["person_id"].to_numpy(),
        }
    )


def _crm(rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame, chunk: int) -> pd.DataFrame:
    # Members join within 20 days of first appearing; those whose day falls after the window have not joined
    # yet. (Joining up to 20 days *before* first appearing thinned the window's last 20 days of sign-ups to
    # nothing, and at a million customers the volume gate rightly blocked that decline.)
    m = people[people["member"]].reset_index(drop=True)
    joined = m["born"].to_numpy() + rng.uniform(0, 20, len(m))
    m, joined = m[joined < cfg.days].reset_index(drop=True), joined[joined < cfg.days]
    n = len(m)
    sign_up = pd.DataFrame(
        {
            "occurred_at": _to_ts(cfg, joined),
            "event_type": "sign_up",
            "loyalty_id": m["loyalty_id"],
            "account_id": m["account_id"],
            "email": m["email"],
            "phone": _reformat_phones(rng, m["phone"]),
            "full_name": m["name"],
            "address": m["address"],
            "city": m["city"],
            "birth_year": m["birth_year"].astype(str),
            "tier": rng.choice(["basic", "silver", "gold"], n, p=[0.7, 0.2, 0.1]),
            "email_opt_in": np.where(m["email_opt_in"], "true", "false"),
            "sms_opt_in": np.where(m["sms_opt_in"], "true", "false"),
            "_person_id": m["person_id"],
        }
    )
    changes = sign_up.sample(frac=0.15, random_state=int(rng.integers(1 << 31))).copy()
    changes["event_type"] = rng.choice(["profile_update", "consent_change"], len(changes), p=[0.6, 0.4])
    changes["occurred_at"] = changes["occurred_at"] + pd.to_timedelta(rng.uniform(1, 120, len(changes)), unit="D")
    changes = changes[changes["occurred_at"] < pd.Timestamp(cfg.end + timedelta(days=1))]  # later ones: after the window
    consent = changes["event_type"] == "consent_change"
    changes.loc[consent, "email_opt_in"] = "false"
    changes.loc[~consent, "tier"] = "silver"
    out = pd.concat([sign_up, changes], ignore_index=True)
    out.insert(0, "member_event_id", [f"M{chunk:03d}-{i:08d}" for i in range(len(out))])
    return out


def _service(rng: np.random.Generator, cfg: GeneratorConfig, purchases: pd.DataFrame, people: pd.DataFrame, chunk: int) -> pd.DataFrame:
    t = purchases.sample(frac=0.06, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    p = people.loc[t["row"]].reset_index(drop=True)
    n = len(t)
    opened = np.clip(t["t"].to_numpy() + rng.uniform(0.1, 10, n), 0, cfg.days - 0.01)
    channel = rng.choice(["phone", "email", "chat", "store"], n, p=[0.4, 0.3, 0.2, 0.1])
    response_h = rng.lognormal(1.0, 1.0, n)
    resolution_h = response_h + rng.lognormal(2.5, 1.0, n)
    resolved = rng.random(n) < 0.9
    csat = np.clip(np.round(5.2 - resolution_h / 30 + rng.normal(0, 0.8, n)), 1, 5).astype(int)
    opened_ts = _to_ts(cfg, opened)
    return pd.DataFrame(
        {
            "ticket_id": [f"K{chunk:03d}-{i:08d}" for i in range(n)],
            "opened_at": opened_ts,
            "contact_channel": channel,
            "category": rng.choice(["delivery", "product", "billing", "account", "complaint", "other"], n),
            "phone": _reformat_phones(rng, p["phone"].where(channel == "phone", None)),
            "email": p["email"].where(channel != "phone", None),
            "loyalty_id": _maybe(rng, p["loyalty_id"], 0.5),
            "first_response_at": opened_ts + pd.to_timedelta(response_h, unit="h"),
            "resolved_at": (opened_ts + pd.to_timedelta(resolution_h, unit="h")).where(resolved, pd.NaT),
            "csat": pd.Series(csat).where(resolved & (rng.random(n) < 0.6), None).astype("Int64"),
            "status": np.where(resolved, "resolved", rng.choice(["open", "escalated"], n)),
            "_person_id": p["person_id"],
        }
    )


def _surveys(rng: np.random.Generator, cfg: GeneratorConfig, purchases: pd.DataFrame, people: pd.DataFrame, chunk: int) -> pd.DataFrame:
    s = purchases.sample(frac=0.08, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    p = people.loc[s["row"]].reset_index(drop=True)
    # Invitations go to contacts the business holds (members and online customers).
    p = p[(p["member"] | p["online"]) & (p["email"].notna() | p["loyalty_id"].notna())].reset_index(drop=True)
    s = s.loc[: len(p) - 1].reset_index(drop=True) if len(p) else s.iloc[:0]
    n = len(p)
    score = rng.choice(np.arange(11), n, p=[0.02, 0.02, 0.03, 0.03, 0.04, 0.06, 0.08, 0.12, 0.2, 0.2, 0.2])
    return pd.DataFrame(
        {
            "response_id": [f"R{chunk:03d}-{i:08d}" for i in range(n)],
            "responded_at": _to_ts(cfg, np.clip(s["t"].to_numpy() + rng.uniform(0.5, 5, n), 0, cfg.days - 0.01)),
            "survey_channel": rng.choice(["email", "app", "store", "web"], n),
            "email": p["email"],
            "loyalty_id": _maybe(rng, p["loyalty_id"], 0.5),
            "nps_score": score,
            "comment": rng.choice(["", "服务很好", "Delivery was late", "Great staff, friendly", "价格有点贵", "Love the app 👍"], n),
            "_person_id": p["person_id"],
        }
    )


def _marketing(
    rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame, orders: pd.DataFrame, chunk: int
) -> pd.DataFrame:
    # The business messages only contacts it holds: members' details, and what online orders carried.
    ordered = orders[~orders["order_id"].str.endswith("-C")]
    email_known = people["member"] | people["person_id"].isin(ordered.loc[ordered["email"].notna(), "_person_id"])
    phone_known = people["member"] | people["person_id"].isin(ordered.loc[ordered["phone"].notna(), "_person_id"])
    people = people.assign(
        email=people["email"].where(email_known & people["email_opt_in"], None),
        phone=people["phone"].where(phone_known & people["sms_opt_in"], None),
    )
    audience = people[people["email"].notna() | people["phone"].notna()]
    parts = []
    for c, day in enumerate(range(10, cfg.days, 30)):
        reached = audience[(audience["born"] - 15 < day) & (rng.random(len(audience)) < 0.8)]
        if reached.empty:
            continue
        n = len(reached)
        chan = np.where(reached["email"].notna() & reached["email_opt_in"], "email", "sms")
        chan = np.where((chan == "email") & reached["online"].to_numpy() & (rng.random(n) < 0.1), "push", chan)
        opened = rng.random(n) < 0.3
        clicked = opened & (rng.random(n) < 0.25)
        unsub = rng.random(n) < 0.004
        base = day + rng.uniform(0.3, 0.4, n)
        for kind, mask, delay in (("sent", np.ones(n, bool), 0.0), ("opened", opened, 0.2), ("clicked", clicked, 0.21), ("unsubscribed", unsub, 0.25)):
            sub = reached[mask]
            parts.append(
                pd.DataFrame(
                    {
                        "occurred_at": _to_ts(cfg, np.minimum(base[mask] + delay, cfg.days - 0.001)),
                        "campaign_id": f"C{c + 1}",
                        "message_channel": chan[mask],
                        "event_type": kind,
                        "email": sub["email"].where(chan[mask] == "email", None).to_numpy(),
                        "phone": sub["phone"].where(chan[mask] == "sms", None).to_numpy(),
                        "device_id": np.where(chan[mask] == "push", sub["devices"].map(lambda d: d[0]), None),
                        "_person_id": sub["person_id"].to_numpy(),
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["occurred_at", "_person_id"])
    out.insert(0, "message_event_id", [f"G{chunk:03d}-{i:09d}" for i in range(len(out))])
    return out


def _privacy(rng: np.random.Generator, cfg: GeneratorConfig, people: pd.DataFrame, chunk: int) -> pd.DataFrame:
    who = people.sample(frac=0.004, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    n = len(who)
    kind = np.where(rng.random(n) < 0.35, "erasure", "opt_out")
    id_type, value = [], []
    for _, row in who.iterrows():
        for candidate in ("email", "phone", "loyalty_id", "account_id"):
            if isinstance(row[candidate], str):
                id_type.append(candidate)
                value.append(row[candidate])
                break
        else:
            id_type.append("device_id")
            value.append(row["devices"][0])
    return pd.DataFrame(
        {
            "request_id": [f"Q{chunk:03d}-{i:06d}" for i in range(n)],
            "requested_at": _to_ts(cfg, rng.uniform(cfg.days * 0.5, cfg.days - 0.01, n)),
            "request_type": kind,
            "identifier_type": id_type,
            "identifier_value": value,
            "_person_id": who["person_id"],
        }
    )


# --------------------------------------------------------------------------- bad rows and files

BAD_ROW_KINDS = ("wrong_type", "missing_identifier", "bad_date", "negative_amount", "unknown_enum", "duplicate_id")


def _inject_bad_rows(rng: np.random.Generator, frame: pd.DataFrame, channel: str, rate: float) -> tuple[pd.DataFrame, int]:
    """Damage a share of rows the ways real feeds do; returns the frame and how many are bad."""
    contract = CONTRACTS[channel]
    frame = frame.copy()
    for col in frame.columns:
        frame[col] = frame[col].astype(object)
    n_bad = int(len(frame) * rate)
    if n_bad == 0:
        return frame, 0
    rows = rng.choice(len(frame), n_bad, replace=False)
    kinds = rng.choice(BAD_ROW_KINDS, n_bad)
    numeric = [c.name for c in contract.columns if c.type in ("decimal", "integer")]
    enums = [c.name for c in contract.columns if c.allowed]
    duplicates = []
    for row, kind in zip(rows, kinds, strict=True):
        if kind == "wrong_type" and numeric:
            frame.iat[row, frame.columns.get_loc(numeric[0])] = "twelve"
        elif kind == "missing_identifier":
            frame.iat[row, frame.columns.get_loc(contract.key)] = None
        elif kind == "bad_date":
            frame.iat[row, frame.columns.get_loc(contract.event_time)] = rng.choice(["2026-02-30 10:00:00", "not a date", "2199-01-01 00:00:00"])
        elif kind == "negative_amount" and "amount" in frame.columns:
            frame.iat[row, frame.columns.get_loc("amount")] = "-42.00"
        elif kind == "unknown_enum" and enums:
            frame.iat[row, frame.columns.get_loc(enums[0])] = "mystery"
        else:
            duplicates.append(row)
            continue
    dup = frame.iloc[duplicates]
    return pd.concat([frame, dup], ignore_index=True), n_bad


LATE_CHANNELS = ("app_web_events", "marketing_events")


def _delivery_day(cfg: GeneratorConfig, chunk: int, channel: str, happened: pd.Series) -> pd.Series:
    """The landing folder a row is delivered in: its own day, or 1-3 days later for a late share of events."""
    day = happened.dt.normalize()
    if channel in LATE_CHANNELS and cfg.late_delivery_share > 0:
        rng = np.random.default_rng([cfg.seed, chunk, LATE_CHANNELS.index(channel), 7])  # its own stream
        delay = np.where(rng.random(len(day)) < cfg.late_delivery_share, rng.integers(1, 4, len(day)), 0)
        day = (day + pd.to_timedelta(delay, unit="D")).clip(upper=pd.Timestamp(cfg.end))
    return day.dt.strftime("%Y-%m-%d")


def _write_daily(frame: pd.DataFrame, folder: Path, channel: str, chunk: int) -> int:
    """Write one part file per day; ``_day`` is the delivery day (kept when a row's date was damaged)."""
    fmt, encoding = FILE_FORMATS[channel]
    day = frame["_day"]
    out = frame.drop(columns="_day")
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    count = 0
    for d, part in out.groupby(day, sort=True):
        target = folder / str(d)
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"part-{chunk:04d}.{fmt}"
        if fmt == "csv":
            part.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n" if chunk % 2 else "\n")
        elif fmt.startswith("jsonl"):
            text = part.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
            if fmt.endswith(".gz"):
                # mtime=0: the gzip header would otherwise carry the write time and break byte-for-byte determinism.
                path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
            else:
                path.write_text(text, encoding="utf-8")
        else:
            table = pa.Table.from_pandas(part.astype(object).where(part.notna(), None).astype("string"), preserve_index=False)
            pq.write_table(table, path)
        count += 1
    return count
