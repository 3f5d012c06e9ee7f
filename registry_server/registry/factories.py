"""Builds agents from their factory references: import the module, call the function, check the result."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from types import ModuleType

from registry_server.domain.agent import FactoryRef
from registry_server.domain.errors import FactoryError
from registry_server.registry.agent_protocol import runnable_problem

FACTORY_TIMEOUT_S = 30.0


async def build_agent(factory: FactoryRef, *, reimport: bool = False) -> object:
    """Returns a new agent from `factory`; with `reimport`, the module's current code is loaded first."""
    try:
        module = _import(factory.module, reimport=reimport)
    except Exception as exc:
        raise FactoryError(
            factory.module, factory.function, f"cannot import the module: {_describe(exc)}"
        ) from exc
    function = getattr(module, factory.function, None)
    if function is None or not callable(function):
        raise FactoryError(
            factory.module, factory.function, f"module {factory.module} has no callable {factory.function!r}"
        )
    try:
        agent = function(**factory.kwargs)
        if inspect.isawaitable(agent):
            agent = await asyncio.wait_for(agent, FACTORY_TIMEOUT_S)
    except TimeoutError as exc:
        raise FactoryError(
            factory.module, factory.function, f"did not finish within {FACTORY_TIMEOUT_S:g} s"
        ) from exc
    except (Exception, SystemExit) as exc:
        raise FactoryError(factory.module, factory.function, f"raised {_describe(exc)}") from exc
    problem = runnable_problem(agent)
    if problem:
        raise FactoryError(factory.module, factory.function, problem)
    return agent


def _import(module_name: str, *, reimport: bool) -> ModuleType:
    if reimport:
        importlib.invalidate_caches()
        loaded = sys.modules.get(module_name)
        if loaded is not None:
            return importlib.reload(loaded)
    return importlib.import_module(module_name)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
