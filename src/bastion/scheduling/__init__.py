"""Periodic jobs: each runs once per period across every process, and leaves a record.

The list of jobs is :mod:`bastion.jobs`; this package runs them (``once``) and
schedules them in-process (``daily``).
"""
