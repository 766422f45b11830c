"""Service settings: typed, read from ``ADVISOR_*`` environment variables and ``advisor serve`` flags.

Unsafe configurations are refused when the settings are built, not discovered later: a service
with no API keys must be opened explicitly (``ADVISOR_OPEN=1`` / ``--open``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from probes.budget import USER_BUDGETS

__all__ = ["BUDGET_NAMES", "MIN_KEY_LENGTH", "Settings"]

#: Budget presets a client may ask for (``oracle`` is for the benchmark suite only).
BUDGET_NAMES = USER_BUDGETS
#: Shorter keys are guessable; the settings refuse them.
MIN_KEY_LENGTH = 16


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything ``advisor serve`` can be told; each field is also ``ADVISOR_<FIELD>`` in the environment.

    Examples
    --------
    >>> Settings(api_keys="a-long-secret-key-0001,a-long-secret-key-0002").database  # doctest: +SKIP
    'sqlite:///advisor-data/advisor.db'
    """

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore", validate_default=True)

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated API keys; clients send 'Authorization: Bearer KEY'. Kept only as hashes.",
    )
    open: bool = Field(False, description="Serve without keys (every caller shares one job list). Logged as a warning.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default a SQLite file in data_dir. postgresql://user@host/db for PostgreSQL."
    )
    data_dir: Path = Field(Path("advisor-data"), description="Uploads (content-addressed), reports, the SQLite file.")
    workers: int = Field(
        1,
        ge=0,
        le=64,
        description="Jobs this process runs at once (worker threads); 0 serves the API only, and processes "
        "started with `advisor worker` run the jobs.",
    )
    probe_jobs: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes each job's probes run in (1: in the job's worker thread). The result is the same "
        "for any value; more than 1 only helps when fewer jobs than cores run at once.",
    )
    max_queued: int = Field(100, ge=1, description="Jobs allowed to wait; more are refused with 429.")
    max_attempts: int = Field(
        2, ge=1, le=10, description="Starts allowed per job; a job interrupted by a restart more often fails."
    )
    max_upload_mb: float = Field(100.0, gt=0, description="Largest upload (file or JSON body) in MB.")
    max_rows: int = Field(1_000_000, ge=1, description="Most rows a dataset may have.")
    max_columns: int = Field(1_000, ge=1, description="Most columns a dataset may have.")
    max_cells: int = Field(
        20_000_000,
        ge=1,
        description="Most cells (rows × columns) a dataset may have: checked before the table is built, so a "
        "small file that describes a huge table is refused without the memory it would take.",
    )
    max_tasks: int = Field(1_000, ge=1, description="Most tasks a dataset may define.")
    max_verify_runs: int = Field(
        3,
        ge=0,
        le=20,
        description="Most full-budget runs a verify job may ask for (0: verify jobs are refused). A verify job is "
        "the benchmark's oracle on all rows: minutes to hours of work per run.",
    )
    budgets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["fast", "standard"], description="Budget presets clients may ask for."
    )
    max_time_limit_s: float = Field(600.0, gt=0, description="Longest probe time limit a job may ask for.")
    recommend_wait_s: float = Field(
        30.0, ge=0, description="How long POST /v1/recommend waits for the result before answering 202."
    )
    retention_days: float | None = Field(
        None,
        gt=0,
        le=36_500,
        allow_inf_nan=False,
        description=(
            "Delete finished jobs (their results and reports) this many days after they end; their uploads go "
            "with them once no other job uses them. Default: keep finished jobs."
        ),
    )
    sweep_interval_s: float = Field(
        3600.0,
        gt=0,
        le=7 * 86_400,
        allow_inf_nan=False,
        description=(
            "How often the service deletes expired jobs, and uploads no job uses (an hour after their last use)."
        ),
    )
    device: str | None = Field(None, description="Torch device for the probes (default: CUDA when available).")
    dask_address: str | None = Field(
        None,
        description="A Dask scheduler (e.g. tcp://10.0.0.5:8786) the jobs' probes run on; default: the worker's "
        "own processes (ADVISOR_PROBE_JOBS).",
    )
    lease_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="A worker's lease on a running job, renewed every third of it; a job whose runner died is "
        "re-queued by any live process once its lease has run out.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per line (each with its request id)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated, e.g. https://ml.example.com); "
        "none by default.",
    )

    @field_validator("dask_address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from advisor._checks import check_scheduler
        from advisor.exceptions import InvalidRequestError

        try:
            return check_scheduler(value)
        except InvalidRequestError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("api_keys")
    @classmethod
    def _long_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        short = sum(len(k.get_secret_value()) < MIN_KEY_LENGTH for k in value)
        if short:
            raise ValueError(
                f"{short} API key(s) are shorter than {MIN_KEY_LENGTH} characters; use long random keys "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _parsable_url(cls, value: str | None) -> str | None:
        """A URL SQLAlchemy cannot parse is refused here, not in a traceback when the service starts."""
        if value is None:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                f"{value!r} is not a database URL; use e.g. postgresql://user@host:5432/advisor or "
                "sqlite:///path/advisor.db"
            ) from None
        return value

    @field_validator("budgets", "cors_origins", mode="before")
    @classmethod
    def _split_budgets(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("budgets")
    @classmethod
    def _known_budgets(cls, value: list[str]) -> list[str]:
        unknown = [b for b in value if b not in BUDGET_NAMES]
        if unknown or not value:
            raise ValueError(
                f"budgets (ADVISOR_BUDGETS) must be a non-empty, comma-separated subset of {', '.join(BUDGET_NAMES)}, "
                f"e.g. {','.join(BUDGET_NAMES[:2])}; got {','.join(value)!r}"
            )
        return value

    @model_validator(mode="after")
    def _keys_or_open(self) -> Settings:
        if not self.api_keys and not self.open:
            raise ValueError(
                "no API keys configured: set ADVISOR_API_KEYS=KEY1,KEY2 (clients send 'Authorization: Bearer KEY'), "
                "or serve without keys on purpose with ADVISOR_OPEN=1 (advisor serve --open)"
            )
        if self.api_keys and self.open:
            raise ValueError("API keys and open mode both set: drop ADVISOR_OPEN (--open) to require the keys")
        return self

    @property
    def database(self) -> str:
        """The database URL in use (the SQLite file in ``data_dir`` unless ``database_url`` is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'advisor.db').as_posix()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
