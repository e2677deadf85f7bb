"""The Slack Web API client: one place decides its base URL, timeout and retry policy."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
GOVSLACK_API_URL = "https://slack-gov.com/api/"
DEFAULT_TIMEOUT_S = 20


def build_web_client(
    token: str | None, api_url: str = DEFAULT_API_URL, *, timeout: float = DEFAULT_TIMEOUT_S
) -> WebClient:
    """The one Web API client for posting, listeners and doctor.

    ``api_url`` is Slack's own by default; GovSlack (`GOVSLACK_API_URL`) and loopback tests set
    it. Automatic retries are off: slack_sdk would otherwise resend a request after a dropped
    connection, which for ``chat.postMessage`` can mean a duplicate alert; the outbox retries
    instead, after asking `SlackSink.find_posted`.
    """
    if not token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is empty; copy the Bot User OAuth Token (xoxb-…) from the app's "
            "OAuth & Permissions page"
        )
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]
