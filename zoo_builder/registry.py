"""A tiny name → object registry with helpful errors (one per concern: models, datasets, methods)."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from paistats.errors import unknown_choice

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; unknown names raise a ``ValueError`` listing the valid choices.

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("architecture", "pruning method", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def get(self, name: str) -> T:
        if not isinstance(name, str) or name not in self._items:
            raise ValueError(unknown_choice_message(self.kind, name, self.names()))
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


#: One-line message of an unknown value with its close matches (:func:`paistats.errors.unknown_choice`).
unknown_choice_message = unknown_choice
