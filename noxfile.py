"""Developer sessions mirroring CI: ``nox -s tests typecheck lint`` (CI runs these three),
``nox -s property`` for many more Hypothesis examples."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The README's test command."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict (configured in pyproject.toml) over src/, tests/ and examples/."""
    session.install("-e", ".[dev]")
    session.run("mypy", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "examples", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "examples", "benchmarks", "noxfile.py")


@nox.session
def property(session: nox.Session) -> None:
    """The Hypothesis property tests with the ``thorough`` profile (1,500 examples each)."""
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/property",
        "-q",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "thorough"},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite (table + benchmarks/results/latest.json); ``-- --quick`` for a smoke."""
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """>= 1M activations with faults, watchdog and leak checks (SOAK_ACTIVATIONS to scale)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-m", "slow", "tests/soak", "-s", *session.posargs)
