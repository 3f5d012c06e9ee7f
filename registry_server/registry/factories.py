"""Calls agent factories: import the module, call the function (off the event loop when synchronous).

This runs where agent code may run: in an agent worker process, or in the server with --agent-workers 0.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from registry_server.domain.agent import FactoryRef
from registry_server.domain.errors import FactoryError
from registry_server.domain.failure_text import cut, describe_exception

FACTORY_TIMEOUT_S = 30.0
MAX_CAUSE_CHARS = 500
ADK_MISSING = "it needs google-adk, which is not installed here: pip install 'agent-registry[adk]'"


async def call_factory(factory: FactoryRef, *, reimport: bool = False) -> object:
    """What `factory` returns; raises FactoryError naming the cause."""
    if factory.module in sys.modules and not reimport:
        function = load_factory(factory)
    else:  # importing runs module code, which may block: off the event loop
        function = await asyncio.to_thread(load_factory, factory, reimport=reimport)
    try:
        async with asyncio.timeout(FACTORY_TIMEOUT_S):
            if inspect.iscoroutinefunction(function):
                return await function(**factory.kwargs)
            built = await asyncio.to_thread(function, **factory.kwargs)
            if inspect.isawaitable(built):
                built = await built
            return built
    except TimeoutError as exc:
        raise factory_error(factory, f"did not finish within {FACTORY_TIMEOUT_S:g} s") from exc
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError) and _being_cancelled():
            raise
        raise factory_error(factory, f"raised {describe_exception(exc)}") from exc


def load_factory(factory: FactoryRef, *, reimport: bool = False) -> Callable[..., Any]:
    """The factory function; raises FactoryError when the module or the callable is missing."""
    try:
        module = _import(factory.module, reimport=reimport)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("google.adk") or exc.name == "google":
            raise factory_error(factory, ADK_MISSING) from exc
        raise factory_error(factory, f"cannot import the module: {describe_exception(exc)}") from exc
    except BaseException as exc:
        raise factory_error(factory, f"cannot import the module: {describe_exception(exc)}") from exc
    function = getattr(module, factory.function, None)
    if function is None or not callable(function):
        raise factory_error(factory, f"module {factory.module} has no callable {factory.function!r}")
    return function  # type: ignore[no-any-return]


def factory_error(factory: FactoryRef, cause: str) -> FactoryError:
    """The FactoryError for `factory`, its cause cut short."""
    return FactoryError(factory.module, factory.function, cut(cause, MAX_CAUSE_CHARS))


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _import(module_name: str, *, reimport: bool) -> ModuleType:
    if reimport:
        importlib.invalidate_caches()
        loaded = sys.modules.get(module_name)
        if loaded is not None:
            return importlib.reload(loaded)
    return importlib.import_module(module_name)
