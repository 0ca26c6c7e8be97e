"""Readiness: can this process serve lookups right now? A list of named checks.

``GET /healthz`` is liveness (the process serves HTTP); ``GET /readyz`` asks every check
registered here and answers 503 naming the ones that fail. A check is a name and a function
returning ``None`` when all is well, else a short reason for an operator. Reasons never hold
a secret or an identifier: they are served to whoever can reach the endpoint. Adding a check
is one line where its component is built: ``readiness.add("name", problem_function)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Problem = Callable[[], str | None]
"""``None`` when ready, else why not (one line, no secret, no identifier)."""


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """Every check's state; ready only when none reports a problem."""

    problems: dict[str, str]
    passing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """True when no check reports a problem."""
        return not self.problems

    def as_json(self) -> dict[str, object]:
        """The body of ``/readyz``: the status, and each check's ``ok`` or its problem."""
        checks: dict[str, str] = dict.fromkeys(self.passing, "ok")
        checks.update(self.problems)
        return {"status": "ready" if self.ready else "not ready", "checks": checks}


@dataclass
class Readiness:
    """The named readiness checks of one process, and whether it is draining."""

    _checks: dict[str, Problem] = field(default_factory=dict)
    draining: bool = False

    def __post_init__(self) -> None:
        self.add("draining", self._draining_problem)

    def add(self, name: str, problem: Problem) -> None:
        """Register (or replace) the check ``name``."""
        self._checks[name] = problem

    def start_draining(self) -> None:
        """Answer 503 from now on: the process is shutting down and wants no new work."""
        if not self.draining:
            logger.info("draining: /readyz answers 503 until the process stops")
        self.draining = True

    def report(self) -> ReadinessReport:
        """Ask every check; a check that raises counts as failing, with the error's type only."""
        problems: dict[str, str] = {}
        passing: list[str] = []
        for name, problem in self._checks.items():
            try:
                reason = problem()
            except Exception as exc:
                logger.exception("readiness check %s failed", name)
                reason = f"the check itself failed ({type(exc).__name__})"
            if reason is None:
                passing.append(name)
            else:
                problems[name] = reason
        return ReadinessReport(problems, tuple(passing))

    def _draining_problem(self) -> str | None:
        return "shutting down: finishing the lookups under way" if self.draining else None
