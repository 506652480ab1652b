"""Finds steps by short name: built-ins, then third-party entry points (group ``datamill.steps``)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from datamill.errors import RecipeError
from datamill.steps.base import Step

#: Packages searched (recursively) for built-in steps: every module that defines a Step subclass with
#: a ``name`` contributes it. Step modules must import heavy packages lazily (in ``setup``), so that
#: building the registry stays cheap.
BUILTIN_PACKAGES: tuple[str, ...] = ("datamill.steps",)
#: Modules of those packages that hold no steps (skipped for speed).
NOT_STEP_MODULES = frozenset({"datamill.steps.base", "datamill.steps.registry"})


def builtin_modules() -> list[str]:
    """Every module under :data:`BUILTIN_PACKAGES`, sorted (so registration order is stable)."""
    import pkgutil

    names: list[str] = []
    for package_name in BUILTIN_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if info.name not in NOT_STEP_MODULES:
                names.append(info.name)
    return sorted(names)


ENTRY_POINT_GROUP = "datamill.steps"


class StepRegistry:
    """Name -> step class. Registering a name twice is an error naming both classes."""

    def __init__(self) -> None:
        self._steps: dict[str, type[Step]] = {}

    def register(self, cls: type[Step]) -> type[Step]:
        name = getattr(cls, "name", None)
        if not name:
            raise RecipeError(f"step class {cls.__module__}.{cls.__qualname__} has no 'name'")
        existing = self._steps.get(name)
        if existing is not None and existing is not cls:
            raise RecipeError(
                f"two steps are named '{name}': {existing.__module__}.{existing.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}",
                hint="rename one of them; step names must be unique",
            )
        self._steps[name] = cls
        return cls

    def get(self, name: str) -> type[Step]:
        try:
            return self._steps[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self._steps, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "run 'datamill steps' for the list"
            raise RecipeError(f"unknown step '{name}'", hint=hint) from None

    def names(self) -> list[str]:
        return sorted(self._steps)

    def __contains__(self, name: object) -> bool:
        return name in self._steps


def _load_module_steps(registry: StepRegistry, module_name: str) -> None:
    module = importlib.import_module(module_name)
    for obj in vars(module).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, Step)
            and obj.__module__ == module.__name__
            and "name" in obj.__dict__
        ):
            registry.register(obj)


_REGISTRY: StepRegistry | None = None


def default_registry() -> StepRegistry:
    """The registry of built-in and entry-point steps, built once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = StepRegistry()
        for module_name in builtin_modules():
            _load_module_steps(registry, module_name)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Step)):
                raise RecipeError(f"entry point '{ep.name}' ({ep.value}) is not a datamill Step class")
            registry.register(cls)
        _REGISTRY = registry
    return _REGISTRY
