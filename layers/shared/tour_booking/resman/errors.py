"""ResMan's failures as types. Messages carry method names and ResMan's own error text, never prospect data."""

from __future__ import annotations


class ResManError(Exception):
    """Any failure talking to ResMan."""

    def __init__(self, message: str, *, method: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.http_status = http_status


class ResManTransientError(ResManError):
    """Worth retrying later: network errors, timeouts, 5xx (Cloudflare HTML pages included), 429, an answer
    that cannot be parsed. Raised once the client's own retries are spent."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        not_processed: bool = False,
    ) -> None:
        super().__init__(message, method=method, http_status=http_status)
        self.retry_after = retry_after
        # True when ResMan surely did not act on the request (refused connection, 429): safe to resend a post.
        self.not_processed = not_processed


class ResManPermanentError(ResManError):
    """Retrying the same request cannot help: `Status` Failed/Error inside a 200, a 4xx."""


class ResManAuthError(ResManPermanentError):
    """ResMan refused the credentials (IntegrationPartnerID / ApiKey / AccountID / PropertyID)."""


class ResManWindowTooWideError(ResManError):
    """`MITS/SearchProspects` answered the `buffer overflow` 502: the modified window holds too much; halve it."""


class ResManConfigurationError(ResManError):
    """No credentials or base URL configured: our fault, not the tour's, so the sync retries it (and the queue
    dead-letters it) instead of failing the tour."""
