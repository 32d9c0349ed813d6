"""The model behind a member: an OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama, vLLM,
LM Studio, llama.cpp's server), reached through pydantic-ai's OpenAI model, with the member's
budget checked before every request and a failing endpoint retried with backoff.

The OpenAI client's own retries are off: every request the endpoint sees is one this module
sent and counted, so a budget of 3 requests means 3 requests at the endpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import anyio
import httpx2
from openai import AsyncOpenAI
from pydantic import ValidationError
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, UnexpectedModelBehavior
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings

from hivegov_mcp.council.budget import Budget
from hivegov_mcp.council.config import Member

log = logging.getLogger(__name__)

ATTEMPTS = 4  # per model request: the first and three retries
BACKOFF_S = (2.0, 8.0, 30.0)  # before the 2nd, 3rd and 4th attempt
MAX_ANSWER_TOKENS = 4096  # one answer's length (and never past what is left of the day's budget)


class Time(Protocol):
    """The council's clock: what time it is, and waiting (tests move it themselves)."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> Awaitable[None]: ...


class SystemTime:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class BudgetSpent(Exception):
    """The member may not ask its model now; the message says until when."""

    def __init__(self, message: str, resumes_at: datetime) -> None:
        super().__init__(message)
        self.resumes_at = resumes_at


class EndpointFailed(Exception):
    """The endpoint refused, or failed every attempt: the message says which and how."""


@dataclass
class ItemUsage:
    """What the current agenda item cost (reported to the server afterwards)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ModelHTTPError):
        return exc.status_code >= 500 or exc.status_code in (408, 409, 425, 429)
    return True  # a connection error, a timeout, an answer that isn't a completion


def describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:  # a task group's: its cause
        exc = exc.exceptions[0]
    if isinstance(exc, ModelHTTPError):
        return f"HTTP {exc.status_code}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


class BudgetedEndpoint(WrapperModel):
    """One member's model: each request checked against its budget, counted, and retried."""

    def __init__(self, member: Member, budget: Budget, time: Time) -> None:
        client = AsyncOpenAI(
            base_url=member.base_url,
            api_key=member.api_key or "not-needed",  # local servers take any key
            max_retries=0,
            timeout=httpx2.Timeout(member.timeout_seconds, connect=10.0),
        )
        super().__init__(OpenAIChatModel(member.model, provider=OpenAIProvider(openai_client=client)))
        self.client = client
        self.member = member
        self.budget = budget
        self.time = time
        self.item = ItemUsage()

    async def close(self) -> None:
        """Close the connections to the endpoint (the member is done)."""
        await self.client.close()

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        for attempt in range(ATTEMPTS):
            now = self.time.now()
            refusal = self.budget.refusal(now)
            if refusal is not None:
                raise BudgetSpent(refusal, self.budget.resumes_at(now))
            self.budget.request_sent(now)
            self.item.requests += 1
            left = self.budget.max_tokens_per_day - self.budget.tokens
            settings: ModelSettings = {**(model_settings or {}), "max_tokens": max(1, min(MAX_ANSWER_TOKENS, left))}
            try:
                response = await self.wrapped.request(messages, settings, model_request_parameters)
            except (ModelAPIError, UnexpectedModelBehavior, ValidationError, json.JSONDecodeError) as exc:
                if not _retryable(exc):
                    raise EndpointFailed(
                        f"{self.member.base_url} refused the request ({describe(exc)}): "
                        "check model, base_url and the key"
                    ) from exc
                if attempt + 1 == ATTEMPTS:
                    raise EndpointFailed(
                        f"{self.member.base_url} failed {ATTEMPTS} attempts, the last with {describe(exc)}"
                    ) from exc
                wait = BACKOFF_S[attempt]
                log.warning("%s: model request failed (%s); retrying in %gs", self.member.agent, describe(exc), wait)
                await self.time.sleep(wait)
                continue
            usage = response.usage
            self.item.input_tokens += usage.input_tokens
            self.item.output_tokens += usage.output_tokens
            self.budget.tokens_used(self.time.now(), usage.input_tokens + usage.output_tokens)
            return response
        raise AssertionError("unreachable")  # pragma: no cover
