"""Webhook rules that need no database: URLs, backoff, signatures."""

import datetime as dt

import pytest
from standardwebhooks.webhooks import Webhook

from app.core.config import Settings
from app.core.errors import UnprocessableContent
from app.subscriptions.delivery import backoff_s, signed_headers
from app.subscriptions.service import check_url, new_secret

PRODUCTION = Settings(env="production", database_url="postgresql://x/y", webhook_allow_private=True)
DEVELOPMENT = Settings(database_url="postgresql://x/y", webhook_allow_private=True)


async def test_production_takes_https_only() -> None:
    with pytest.raises(UnprocessableContent, match="https"):
        await check_url("http://receiver.example/hook", PRODUCTION)
    await check_url("https://receiver.example/hook", PRODUCTION)
    await check_url("http://receiver.example/hook", DEVELOPMENT)


@pytest.mark.parametrize("failures", range(1, 40))
def test_backoff_doubles_to_its_cap_with_jitter(failures: int) -> None:
    settings = Settings(database_url="postgresql://x/y", webhook_retry_base_s=1,
                        webhook_retry_max_s=600)  # fmt: skip
    wait = backoff_s(failures, settings)
    expected = min(600, 2 ** (failures - 1))
    assert 0.8 * expected <= wait <= 1.2 * expected


def test_signatures_verify_with_the_standard_library() -> None:
    secret = new_secret()
    now = dt.datetime.now(dt.UTC)
    body = '{"type": "event.entered"}'
    headers = signed_headers(secret, "msg_1", body, now)
    assert Webhook(secret).verify(body, headers) == {"type": "event.entered"}
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body.replace("entered", "left"), headers)
