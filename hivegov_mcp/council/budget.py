"""A member's model budget (no I/O, the time given): requests in any rolling hour, and prompt
plus completion tokens per UTC day, as the endpoint reports them.

A request is counted when it is sent, whatever comes back (an error costs the endpoint too);
tokens when the answer reports them. A member past either stops asking its model until the
window frees, and says until when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)


@dataclass
class Budget:
    max_requests_per_hour: int
    max_tokens_per_day: int
    sent: list[datetime] = field(default_factory=list)  # request times within the last hour
    day: str = ""  # the UTC day `tokens` counts (ISO date)
    tokens: int = 0
    requests_total: int = 0
    tokens_total: int = 0

    def _forget(self, now: datetime) -> None:
        self.sent = [t for t in self.sent if now - t < HOUR]
        today = now.date().isoformat()
        if self.day != today:
            self.day, self.tokens = today, 0

    def refusal(self, now: datetime) -> str | None:
        """Why no request may be sent now (and until when), or None."""
        self._forget(now)
        if len(self.sent) >= self.max_requests_per_hour:
            until = min(self.sent) + HOUR
            return (
                f"budget spent: {len(self.sent)} of {self.max_requests_per_hour} model requests in the last hour; "
                f"asking again at {until:%H:%M:%S} UTC"
            )
        if self.tokens >= self.max_tokens_per_day:
            return f"budget spent: {self.tokens} of {self.max_tokens_per_day} tokens today (UTC); asking again tomorrow"
        return None

    def resumes_at(self, now: datetime) -> datetime:
        """When a request may be sent again (now if it may)."""
        if self.refusal(now) is None:
            return now
        if len(self.sent) >= self.max_requests_per_hour:
            return min(self.sent) + HOUR
        return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)

    def request_sent(self, now: datetime) -> None:
        self._forget(now)
        self.sent.append(now)
        self.requests_total += 1

    def tokens_used(self, now: datetime, tokens: int) -> None:
        self._forget(now)
        self.tokens += tokens
        self.tokens_total += tokens

    def used(self, now: datetime) -> dict[str, int]:
        self._forget(now)
        return {
            "requests_this_hour": len(self.sent),
            "max_requests_per_hour": self.max_requests_per_hour,
            "tokens_today": self.tokens,
            "max_tokens_per_day": self.max_tokens_per_day,
        }
