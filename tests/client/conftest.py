"""Shared fixtures for the client tests."""

from __future__ import annotations

import pytest

from errorbook.client import RetryBudget, _budget


@pytest.fixture(autouse=True)
def _fresh_default_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with a full process-wide retry budget.

    The budget a `RetryPolicy` gets by default is shared by the whole process, on purpose (a
    failing host must not see more load because clients are short-lived). Tests that fail
    many requests would otherwise spend it for the tests after them.
    """
    monkeypatch.setattr(_budget, "_DEFAULT", RetryBudget())
