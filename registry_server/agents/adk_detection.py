"""Tells a Google ADK agent from other objects without importing google.adk."""

from __future__ import annotations

ADK_PACKAGE = "google.adk"


def is_adk_agent(candidate: object) -> bool:
    """True when `candidate` is an instance of a google.adk class (an agent or a workflow node)."""
    return any(
        cls.__module__ == ADK_PACKAGE or cls.__module__.startswith(ADK_PACKAGE + ".")
        for cls in type(candidate).__mro__
    )
