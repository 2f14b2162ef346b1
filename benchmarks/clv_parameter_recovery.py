"""How close the nightly fit comes to the parameters that generated the demo data.

    make run && .venv/bin/python benchmarks/clv_parameter_recovery.py

Reads ``ground_truth/parameters.json`` (the generator's BG/NBD and Gamma-Gamma
parameters, daily units) and the newest row of ``clv.clv_model_runs``, and prints
each parameter: true, fitted, standard error, relative error and how many
standard errors apart. The fit sees what the pipeline sees (resolved customers,
store and online orders, refunds and cancellations excluded), so identity
errors and the data window show up here too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.settings import Settings  # noqa: E402

PARAMETERS = {"r": "bgnbd", "alpha": "bgnbd", "a": "bgnbd", "b": "bgnbd", "p": "gg", "q": "gg", "v": "gg"}


def main() -> int:
    settings = Settings.from_env()
    truth = json.loads((settings.landing_dir.parent / "ground_truth" / "parameters.json").read_text())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        run = conn.execute("select * from clv.clv_model_runs order by run_at desc limit 1").df().iloc[0]
    if float(run["time_unit_days"]) != 1.0:
        print("the generator's parameters are in days: run with clv_time_unit_days = 1", file=sys.stderr)
        return 2
    print(f"{truth['customers']:,} generated people over {truth['days']} days; "
          f"fit on {int(run['customers']):,} customers ({int(run['repeat_buyers']):,} repeat buyers)")
    print("| parameter | true | fitted | standard error | relative error | standard errors apart |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, model in PARAMETERS.items():
        true, fitted, se = truth["parameters"][name], float(run[f"{model}_{name}"]), float(run[f"{model}_{name}_se"])
        print(f"| {name} | {true:g} | {fitted:.4f} | {se:.4f} | {(fitted - true) / true:+.1%} | {(fitted - true) / se:+.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
