"""dbt's own unit tests (profile rules, identifier normalisation) and the keyed hash seen from SQL."""

from __future__ import annotations

import json
import subprocess

from orchestration.privacy.keys import load_key, pseudonymize
from orchestration.resources import dbt_executable
from orchestration.settings import DBT_PROJECT_DIR, Settings


def _dbt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True, check=False,
    )


def test_dbt_unit_tests_pass(pipeline_run) -> None:  # noqa: ANN001
    """Unit tests need their input relations to exist: they run against the pipeline's warehouse."""
    run = _dbt("test", "--select", "test_type:unit")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "PASS=6" in run.stdout, run.stdout[-3000:]


def test_phone_written_four_ways_gets_one_hash_equal_to_python() -> None:
    forms = ["+86 138 0013 8000", "13800138000", "+8613800138000", "0086 13800138000"]
    columns = ", ".join(
        f"{{{{ pseudonymize(normalize_identifier('phone', \"'{form}'\")) }}}} as h{i}" for i, form in enumerate(forms)
    )
    shown = _dbt("show", "--inline", f"select {columns}", "--output", "json", "--log-format", "json")
    assert shown.returncode == 0, shown.stdout[-3000:]
    previews = [json.loads(line)["data"].get("preview") for line in shown.stdout.splitlines() if '"preview"' in line]
    row = json.loads(previews[-1])[0]
    expected = pseudonymize("+8613800138000", load_key(Settings.from_env().hash_key_file))
    assert set(row.values()) == {expected}
