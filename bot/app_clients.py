"""The model clients the composition root hands out: the main model and the fast one (part of the composition root)."""

from __future__ import annotations

import openai

from bot.settings import Settings


def main_client(settings: Settings) -> tuple[openai.AsyncOpenAI, str]:
    """(client, model) of the main model (settings.require_llm() must have passed); we retry, not the client."""
    assert settings.openai_api_key is not None and settings.llm_model is not None
    client = openai.AsyncOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key.get_secret_value(),
                                timeout=settings.llm_timeout, max_retries=0)
    return client, settings.llm_model


def fast_client(settings: Settings) -> tuple[openai.AsyncOpenAI, str] | None:
    """(client, model) of the fast model for small decisions (LLM_FAST_*, else the main ones), if one is set.

    No client retries: each fast decision has a small budget and a rule (or the next tick) for no answer.
    """
    base_url, api_key, model = settings.fast_llm()
    if base_url is None or api_key is None or model is None:
        return None
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=settings.llm_timeout, max_retries=0), model
