"""The Dagster UI as a data engineer uses it: the real webserver on the pipeline's instance, driven by headless
Chromium (Debian's package, installed by `make test`) through Playwright. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root, without a sandbox; no background traffic (this machine has no network but the package registries).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# One asset of each layer (its key path in the UI's URLs).
ASSETS_BY_LAYER = {"ingest": "app_web_events", "staging": "staging/stg_app__events", "identity": "identity/record_customers",
                   "quality": "quality/quarantine_reasons", "marts": "marts/touchpoints", "clv": "clv/customer_clv",
                   "publish": "serving_snapshot"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(pipeline_run):  # noqa: ANN001, ANN201
    """dagster-webserver on 127.0.0.1 over the instance that recorded the pipeline's runs."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(PROJECT_ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the webserver did not answer within 120 s") from None
                time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.mark.browser
def test_asset_graph_and_a_materialisation_in_the_browser(webserver: str) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
        pytest.skip("Chromium is not installed (make test installs it)")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})

        def open_page(path: str) -> None:
            page.goto(webserver + path, wait_until="networkidle")
            skip = page.get_by_role("button", name="Skip")  # the UI's one-time community dialog
            if skip.count():
                skip.first.click()

        # One asset of every layer, found in its group and materialised by the pipeline's runs.
        for group, key in ASSETS_BY_LAYER.items():
            open_page(f"/assets/{key}")
            expect(page.get_by_text(key.split("/")[-1], exact=True).first).to_be_visible(timeout=30_000)
            expect(page.get_by_text(group, exact=True).first).to_be_visible()
            expect(page.get_by_text("Latest materialization")).to_be_visible()
        open_page("/assets")
        page.screenshot(path=str(ARTIFACTS / "ui-catalog.png"), full_page=True)

        # A mart's page: materialised by the pipeline's run, with its owner, kinds, typed dbt columns and checks.
        open_page("/assets/marts/customers")
        expect(page.get_by_text("Latest materialization")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("ago").first).to_be_visible()
        for text in ("analytics-engineering", "relationship_level", "lifecycle_stage", "TIMESTAMP"):
            expect(page.get_by_text(text).first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "ui-customers.png"), full_page=True)
        page.get_by_role("tab", name="Checks").click()
        expect(page.get_by_text("gx_customers").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "ui-customers-checks.png"), full_page=True)

        # The lineage: every layer is a group of the graph.
        open_page("/asset-groups")
        for group in ASSETS_BY_LAYER:
            expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "ui-lineage.png"))
        browser.close()
