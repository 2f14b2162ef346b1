"""CLV at scale: the plain lifetimes path against this pipeline's CLV stage, same transactions, same run.

    python benchmarks/clv_at_scale.py [--customers 1000000]

Draws a purchase log from BG/NBD and Gamma-Gamma (two years, customers arriving throughout), then runs,
each side in its own process so peak memory is its own:

- plain lifetimes: ``summary_data_from_transaction_data``, ``BetaGeoFitter.fit`` and ``GammaGammaFitter.fit``
  on every customer, per-customer P(alive), expected purchases (30/90/365 days), expected spend and
  ``customer_lifetime_value`` (12 months, 1% a month);
- clientele: the dbt model ``customer_rfm_summary`` (its compiled SQL, in DuckDB) and
  ``orchestration.clv.model`` ``fit`` (distinct rows with weights) and ``score`` (per distinct row, joined
  back), timed like for like without the p10-p90 band (which the plain path does not compute), and the
  band timed apart; both ratios are printed.

Checks the seven parameters agree within 1e-4 (relative) and the 12-month CLV per customer, prints the
ratio plain / clientele and peak memory, writes benchmarks/results/<date>-clv.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
END = pd.Timestamp("2026-10-31")
DAYS = 730
TOLERANCE = 1e-4
PARAMS = ("r", "alpha", "a", "b", "p", "q", "v")
WAREHOUSE_FILE = "clientele.duckdb"  # compiled SQL names the catalog after the warehouse file


def draw_orders(customers: int, seed: int = 11) -> pd.DataFrame:
    """Purchase days from BG/NBD (r 0.55, alpha 35, a 0.85, b 3.5) and spends from Gamma-Gamma (p 6, q 3.8, v 45)."""
    rng = np.random.default_rng(seed)
    birth = rng.integers(0, DAYS, customers)
    lam = rng.gamma(0.55, 1 / 35.0, customers)
    drop = rng.beta(0.85, 3.5, customers)
    window = (DAYS - birth).astype(float)
    # Repeat purchases: the first G of a Poisson process over the window, G ~ Geometric(drop) (dropout after a repeat).
    arrivals = rng.poisson(lam * window)
    owner = np.repeat(np.arange(customers), arrivals)
    offsets = rng.random(owner.size) * window[owner]
    order = np.lexsort((offsets, owner))
    owner, offsets = owner[order], offsets[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    kept = rank < rng.geometric(drop)[owner]
    owner, offsets = owner[kept], np.floor(offsets[kept])
    nu = rng.gamma(3.8, 1 / 45.0, customers)  # Gamma-Gamma: nu ~ Gamma(q, v), spend ~ Gamma(p, nu)
    days = np.concatenate([birth, birth[owner] + offsets])
    who = np.concatenate([np.arange(customers), owner])
    spend = rng.gamma(6.0, 1 / nu[who])
    return pd.DataFrame({
        "customer_id": pd.Series(who).map("C{:07d}".format),
        "order_date": (END - pd.Timedelta(days=DAYS - 1)) + pd.to_timedelta(days, unit="D"),
        "amount": np.round(spend, 2),
    })


def summary_sql() -> str:
    """The dbt model customer_rfm_summary as dbt compiles it (reads marts.orders)."""
    from orchestration.resources import dbt_executable
    from orchestration.settings import DBT_PROJECT_DIR

    target = Path(tempfile.mkdtemp(prefix="clientele-bench-dbt-"))
    subprocess.run(
        [dbt_executable(), "compile", "--select", "customer_rfm_summary", "--quiet", "--target-path", str(target),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, check=True, stdout=subprocess.DEVNULL,  # --quiet still prints the compiled SQL
        env=os.environ | {"CLIENTELE_HASH_KEY": os.environ.get("CLIENTELE_HASH_KEY", "benchmark-key"),
                          "CLIENTELE_WAREHOUSE": str(target / WAREHOUSE_FILE)},
    )
    return next(target.glob("compiled/*/models/marts/core/customer_rfm_summary.sql")).read_text()


def run_plain(orders: Path) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import summary_data_from_transaction_data
    log = pd.read_parquet(orders)
    timings = {}
    started = time.perf_counter()
    summary = summary_data_from_transaction_data(log, "customer_id", "order_date", monetary_value_col="amount",
                                                 observation_period_end=END, freq="D")
    timings["summary"] = time.perf_counter() - started
    started = time.perf_counter()
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    timings["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    f, r, t = summary["frequency"], summary["recency"], summary["T"]
    summary["p_alive"] = bgf.conditional_probability_alive(f, r, t)
    for days in (30, 90, 365):
        summary[f"expected_purchases_{days}d"] = bgf.conditional_expected_number_of_purchases_up_to_time(days, f, r, t)
    summary["expected_avg_order_value"] = ggf.conditional_expected_average_profit(f, summary["monetary_value"])
    summary["clv_12m"] = ggf.customer_lifetime_value(bgf, f, r, t, summary["monetary_value"], time=12,
                                                     discount_rate=0.01, freq="D")
    timings["score"] = time.perf_counter() - started
    clv = summary["clv_12m"].sort_index()
    return {"timings": timings, "params": {**bgf.params_.to_dict(), **ggf.params_.to_dict()},
            "customers": len(summary), "clv": clv.to_numpy().tolist(), "ids": clv.index.tolist()}


def run_clientele(orders: Path, sql: str) -> dict[str, object]:
    import duckdb

    from orchestration.clv.model import ClvConfig, fit, score

    timings = {}
    started = time.perf_counter()
    with duckdb.connect(str(orders.parent / WAREHOUSE_FILE)) as conn:
        conn.execute("create schema marts")
        conn.execute(f"create table marts.orders as select customer_id, cast(order_date as date) as order_date, "
                     f"cast(amount as decimal(18, 2)) as amount from read_parquet('{orders}')")
        load = time.perf_counter() - started
        started = time.perf_counter()
        summary = conn.execute(sql).df()
    timings["summary"] = time.perf_counter() - started
    started = time.perf_counter()
    cfg = ClvConfig(time_unit_days=1.0)
    model, _, _ = fit(summary, cfg)
    timings["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    scores = score(summary, replace(model, config=replace(cfg, band_draws=0)))  # the outputs the plain path has
    timings["score"] = time.perf_counter() - started
    started = time.perf_counter()
    score(summary, model)
    band = time.perf_counter() - started - timings["score"]  # the p10-p90 band, which plain lifetimes lacks
    clv = scores.set_index("customer_id")["clv_12m"].sort_index()
    return {"timings": timings, "band_seconds": band, "load_orders_seconds": load,
            "params": {**model.bgnbd, **model.gamma_gamma},
            "customers": len(summary), "clv": clv.to_numpy().tolist(), "ids": clv.index.tolist()}


def side(kind: str, orders: Path, sql_file: Path | None, out: Path) -> None:
    result = run_plain(orders) if kind == "plain" else run_clientele(orders, sql_file.read_text())
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--side", choices=["plain", "clientele"], help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sql", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side(args.side, args.orders, args.sql, args.out)
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="clientele-bench-clv-"))
    orders = draw_orders(args.customers)
    orders.to_parquet(scratch / "orders.parquet", index=False)
    (scratch / "summary.sql").write_text(summary_sql())
    results = {}
    for kind in ("plain", "clientele"):
        out = scratch / f"{kind}.json"
        subprocess.run([sys.executable, __file__, "--side", kind, "--orders", str(scratch / "orders.parquet"),
                        "--sql", str(scratch / "summary.sql"), "--out", str(out)], check=True)
        results[kind] = json.loads(out.read_text())
    plain, ours = results["plain"], results["clientele"]
    assert plain["ids"] == ours["ids"], "the two summaries hold different customers"
    worst = max(abs(ours["params"][k] - plain["params"][k]) / abs(plain["params"][k]) for k in PARAMS)
    clv_plain, clv_ours = np.asarray(plain["clv"]), np.asarray(ours["clv"])
    missing = int(np.isnan(clv_plain).sum()), int(np.isnan(clv_ours).sum())
    both = ~(np.isnan(clv_plain) | np.isnan(clv_ours))
    clv_diff = float(np.max(np.abs(clv_ours[both] - clv_plain[both]) / np.maximum(np.abs(clv_plain[both]), 1.0)))

    print(f"\nCLV, {plain['customers']:,} customers, {len(orders):,} purchases over {DAYS} days\n")
    print("| step | plain lifetimes | clientele | ratio |")
    print("| --- | --- | --- | --- |")
    for step in ("summary", "fit", "score"):
        a, b = plain["timings"][step], ours["timings"][step]
        print(f"| {step} | {a:.1f} s | {b:.1f} s | {a / b:.1f}x |")
    total_plain, total_ours = sum(plain["timings"].values()), sum(ours["timings"].values())
    print(f"| **total** | {total_plain:.1f} s | {total_ours:.1f} s | **{total_plain / total_ours:.1f}x** |")
    with_band = total_ours + ours["band_seconds"]
    print(f"\nclientele also draws a p10-p90 CLV band from the parameters' uncertainty (the plain path has none): "
          f"{ours['band_seconds']:.1f} s more; the stage as it runs nightly, band included: {with_band:.1f} s, "
          f"**{total_plain / with_band:.1f}x** the plain path")
    print(f"peak memory: plain {plain['peak_rss_mib'] / 1024:.2f} GiB, clientele {ours['peak_rss_mib'] / 1024:.2f} GiB")
    print("| parameter | plain | clientele |")
    print("| --- | --- | --- |")
    for k in PARAMS:
        print(f"| {k} | {plain['params'][k]:.6f} | {ours['params'][k]:.6f} |")
    print(f"largest relative parameter difference {worst:.2e} (tolerance {TOLERANCE:g}); "
          f"largest 12-month CLV difference per customer {clv_diff:.2e} (relative, floor 1); "
          f"customers without a CLV: plain {missing[0]:,}, clientele {missing[1]:,}")
    record = {"customers": plain["customers"], "purchases": len(orders), "plain": plain["timings"],
              "clientele": ours["timings"], "clientele_band_seconds": ours["band_seconds"],
              "ratio": total_plain / total_ours, "ratio_with_band": total_plain / with_band,
              "customers_without_clv": {"plain": missing[0], "clientele": missing[1]},
              "peak_rss_gib": {"plain": plain["peak_rss_mib"] / 1024, "clientele": ours["peak_rss_mib"] / 1024},
              "max_param_rel_diff": worst, "max_clv_rel_diff": clv_diff,
              "params": {"plain": plain["params"], "clientele": ours["params"]}}
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / f"{date.today().isoformat()}-clv.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
