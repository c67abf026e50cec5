"""What the assessment service needs besides its settings, made once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from servicekit.service import Dependencies, Runtime

from .settings import AssessmentSettings
from .store.cache import AssessmentCache


@dataclass
class AssessmentDependencies(Dependencies):
    assessment_cache: AssessmentCache = field(default_factory=AssessmentCache)


AssessmentRuntime: TypeAlias = Runtime[AssessmentSettings, AssessmentDependencies]
