"""Fixtures for the console browser test: the real `airlock serve` (with the mock upstream
of the e2e tests) on the test database, seeded through the CLI and real API calls, and a
headless Chromium driven over the DevTools protocol."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))
_spec = importlib.util.spec_from_file_location("e2e_support", E2E / "conftest.py")
e2e_support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_support)

database_url = e2e_support.database_url
upstream = e2e_support.upstream
private_db = e2e_support.private_db
