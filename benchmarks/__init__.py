"""The routilux benchmark suite: ``python -m benchmarks`` (or ``nox -s bench``).

Every workload runs beside its baseline in the same process and run, and is reported as a ratio
against it, so the figures stay meaningful on a noisy machine.
"""
