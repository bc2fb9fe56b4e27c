"""Playbooks: which checks and matrix rows a diagnosis runs, in which steps, with which texts.

Playbooks are data (`playbooks/*.yaml`), validated at load: a playbook naming an unknown check or
matrix path, a template that does not compile, or a misspelt field is an error naming the file and
the field. Texts are jinja2 templates rendered in a sandbox (playbooks may come from a ConfigMap).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.diagnosis.checks import CATALOGUE
from bot.errors import PlaybookError, first_error

MATRIX_PATHS = (
    "controller-scheduler",
    "agent-scheduler",
    "envoy-scheduler",
    "modelgateway-scheduler",
    "pipelinegateway-scheduler",
    "dataflow-engine-scheduler",
    "external-mesh",
    "envoy-agent",
    "agent-inference",
    "agent-rclone",
)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)


def default_dir() -> Path:
    """`SELDON_CHATOPS_PLAYBOOKS`, else the repository's playbooks/ next to the package."""
    return Path(os.environ.get("SELDON_CHATOPS_PLAYBOOKS") or Path(__file__).resolve().parent.parent / "playbooks")


def _compile(text: str) -> str:
    try:
        _ENV.parse(text)
    except TemplateError as exc:
        raise ValueError(f"template does not compile: {exc}") from exc
    return text


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    intro: str = Field(description="jinja2: what this step checks and why")
    checks: list[str] = Field(default_factory=list)
    connectivity: list[str] = Field(default_factory=list, description="matrix paths, e.g. agent-scheduler")
    kubectl: list[str] = Field(default_factory=list, description="jinja2: commands a human can run to confirm")

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {sorted(CATALOGUE)}")
        return value

    @field_validator("connectivity")
    @classmethod
    def _known_paths(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in MATRIX_PATHS]
        if unknown:
            raise ValueError(f"unknown matrix path(s) {unknown}; known: {list(MATRIX_PATHS)}")
        return value

    @field_validator("intro")
    @classmethod
    def _intro_compiles(cls, value: str) -> str:
        return _compile(value)

    @field_validator("kubectl")
    @classmethod
    def _kubectl_compiles(cls, value: list[str]) -> list[str]:
        return [_compile(v) for v in value]


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    description: str = ""
    steps: list[Step] = Field(min_length=1)

    @property
    def check_ids(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.steps for c in s.checks))

    @property
    def needs_matrix(self) -> bool:
        return any(s.connectivity for s in self.steps)


def render(template: str, context: dict[str, Any]) -> str:
    return _ENV.from_string(template).render(**context).strip()


def load_playbook(name: str, directory: str | Path | None = None) -> Playbook:
    directory = Path(directory) if directory else default_dir()
    path = directory / f"{name}.yaml"
    if not name.replace("-", "").isalnum() or not path.is_file():
        raise PlaybookError(f"unknown playbook {name!r}; available: {', '.join(available(directory)) or 'none'}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlaybookError(f"playbook {path}: invalid YAML: {exc}") from exc
    try:
        playbook = Playbook.model_validate(raw)
    except ValidationError as exc:
        raise PlaybookError(f"playbook {path}: {first_error(exc)}") from exc
    if playbook.name != name:
        raise PlaybookError(f"playbook {path}: field name: is {playbook.name!r}, expected {name!r}")
    return playbook


def available(directory: str | Path | None = None) -> list[str]:
    directory = Path(directory) if directory else default_dir()
    return sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
