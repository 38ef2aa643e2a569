"""Each test's report on its item, so fixtures can tell a failure (and screenshot it); the
browser, pages and live server every dashboard test module uses (tests/ui/dashboard.py)."""

from collections.abc import Iterator

import pytest

from tests.ui.dashboard import browser, open_page, server

__all__ = ["browser", "open_page", "server"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
