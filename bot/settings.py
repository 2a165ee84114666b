"""Settings from the environment and `.env`, through pydantic-settings."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from persona import available_personas
from policies.group import group_policy
from policies.interrupt import interrupt_policy
from policies.responder import responder_kind
from policies.turn import turn_policy

_POLICY_CHECKS = {"turn_policy": turn_policy, "interrupt_policy": interrupt_policy, "group_policy": group_policy,
                  "responder": responder_kind}


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    """Every variable textbot reads (see .env.example for what each does)."""

    # nan and inf are never a sensible number of seconds or a scale; refusing them keeps timers sane.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      allow_inf_nan=False)

    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_timeout: float = 60.0
    llm_attempts: int = 3
    llm_failure_reply: Literal["message", "silent"] = "message"
    local_model_path: str | None = None
    llm_fast_model: str | None = None
    llm_fast_base_url: str | None = None
    llm_fast_api_key: SecretStr | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None

    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"

    database_url: str = "sqlite:///textbot.db"
    late_after_seconds: float = 3600.0
    late_reply: Literal["late", "silent"] = "late"
    follow_up_after_seconds: float = 20 * 3600.0
    double_text_after_seconds: float | None = None
    job_misfire_grace_seconds: float = 6 * 3600.0

    persona: str = "sunny"
    timing_scale: float = 1.0
    admin_user_ids: str = ""
    turn_policy: str | None = None
    interrupt_policy: str | None = None
    group_policy: str | None = None
    responder: str | None = None
    memory_extraction: Literal["on", "off"] | None = None  # stream turns' facts kept by the fast model; unset: on
    # when LLM_FAST_MODEL is set (without it the "fast" model is the main one: a second big request per turn)
    holding_after_seconds: float = 2.0  # the fast model's holding line after this long without a reply (0: never)
    task_kinds: str = ""  # more background task kinds: comma-separated module:Class, each made with no arguments

    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_token: SecretStr | None = None

    log_level: str = "INFO"

    # Several workers on one PostgreSQL database (`textbot run --workers N` sets these for its children).
    worker_count: int = 1  # before worker_id, which is checked against it
    worker_id: int = 0
    worker_lease_seconds: float = 10.0

    @field_validator(
        "openai_base_url", "openai_api_key", "llm_model", "telegram_bot_token", "telegram_webhook_url",
        "discord_bot_token", "turn_policy", "interrupt_policy", "group_policy", "responder", "web_token",
        "double_text_after_seconds", "local_model_path", "llm_fast_model", "llm_fast_base_url", "llm_fast_api_key",
        "memory_extraction", mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty `NAME=` line in .env means "not set", as in .env.example."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("turn_policy", "interrupt_policy", "group_policy", "responder")
    @classmethod
    def _known_policy(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A policy the bot has, with a valid value: refused at start-up, not at the first message."""
        if value is not None and info.field_name is not None:
            _POLICY_CHECKS[info.field_name](value)
        return value

    @field_validator("persona")
    @classmethod
    def _known_persona(cls, value: str) -> str:
        """One of the shipped personas."""
        if value not in available_personas():
            raise ValueError(f"unknown persona {value!r}; choose from {', '.join(available_personas())}")
        return value

    @field_validator("web_port")
    @classmethod
    def _port_number(cls, value: int) -> int:
        """A TCP port (0: any free one)."""
        if not 0 <= value <= 65535:
            raise ValueError("must be a port number from 0 to 65535")
        return value

    @field_validator("worker_count")
    @classmethod
    def _some_workers(cls, value: int) -> int:
        """At least one."""
        if value < 1:
            raise ValueError("must be 1 or more")
        return value

    @field_validator("worker_id")
    @classmethod
    def _worker_slot(cls, value: int, info: ValidationInfo) -> int:
        """One of 0 … WORKER_COUNT-1 (WORKER_COUNT is read first)."""
        count = info.data.get("worker_count", 1)
        if not 0 <= value < count:
            raise ValueError(f"must be from 0 to WORKER_COUNT-1 ({count - 1})")
        return value

    @field_validator("holding_after_seconds")
    @classmethod
    def _holding_delay(cls, value: float) -> float:
        """0 (never) or a number of seconds."""
        if value < 0:
            raise ValueError("must be 0 (no holding line) or a number of seconds")
        return value

    @field_validator("worker_lease_seconds")
    @classmethod
    def _lease_period(cls, value: float) -> float:
        """Long enough for a heartbeat to get through."""
        if value < 0.5:
            raise ValueError("must be at least 0.5 seconds")
        return value

    @field_validator("timing_scale")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        """Delays are scaled, never reversed."""
        if value < 0:
            raise ValueError("must be 0 or more (1.0: real time)")
        return value

    @property
    def uses_local_model(self) -> bool:
        """No OPENAI_BASE_URL: textbot run and chat start the local model (bot.llm.local_model)."""
        return self.openai_base_url is None

    def require_llm(self) -> None:
        """Raise ConfigError naming the first LLM variable that is not set (none are, for the local model)."""
        if self.uses_local_model:
            return
        for name, value in (
            ("OPENAI_BASE_URL", self.openai_base_url),
            ("OPENAI_API_KEY", self.openai_api_key),
            ("LLM_MODEL", self.llm_model),
        ):
            if not value:
                raise ConfigError(
                    f"{name} is not set. With OPENAI_BASE_URL set, textbot needs OPENAI_API_KEY and LLM_MODEL "
                    "too (in the environment or in .env); unset it to use the bundled local model"
                )

    def fast_llm(self) -> tuple[str | None, str | None, str | None]:
        """(base URL, API key, model) of the fast model for small decisions: LLM_FAST_*, else the main ones."""
        key = self.llm_fast_api_key or self.openai_api_key
        return (self.llm_fast_base_url or self.openai_base_url, key.get_secret_value() if key else None,
                self.llm_fast_model or self.llm_model)

    def policies(self) -> dict[str, str | None]:
        """The bot-wide choice for each policy kind (None: each persona's own)."""
        return {"turn": self.turn_policy, "interrupt": self.interrupt_policy, "group": self.group_policy,
                "responder": self.responder}

    def admins(self) -> frozenset[str]:
        """ADMIN_USER_IDS as a set of `platform:id` strings."""
        return frozenset(x.strip() for x in self.admin_user_ids.split(",") if x.strip())

    def secrets(self) -> list[str]:
        """Every secret value set, so logs can redact them."""
        out = []
        for secret in (self.openai_api_key, self.llm_fast_api_key, self.telegram_bot_token, self.discord_bot_token,
                       self.web_token):
            if secret is not None and secret.get_secret_value():
                out.append(secret.get_secret_value())
        return out


def settings_problem(error: ValidationError) -> str:
    """One line naming each variable that was refused and why (secret values are not repeated)."""
    secret = {name for name, spec in Settings.model_fields.items() if "SecretStr" in str(spec.annotation)}
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        reason = str(item["msg"]).removeprefix("Value error, ")
        reason = reason[:1].lower() + reason[1:]
        shown = "" if field in secret else f"={_short(item.get('input'))}"
        problems.append(f"{field.upper()}{shown}: {reason}")
    return "; ".join(problems)


def _short(value: object) -> str:
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")  # the answer stays one line
    return text if len(text) <= 60 else text[:57] + "..."
