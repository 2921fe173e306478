"""What the facade's parts (``PageReads``, ``OperatorActions``) use of the
``Monitor`` that inherits them: its settings, engine, schema check and read
session, declared once here and defined by ``Monitor``.
Side effects: none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .config import Settings


class FacadePart:
    """A group of ``Monitor``'s actions kept in a module of its own."""

    settings: Settings

    @property
    def engine(self) -> Engine:
        raise NotImplementedError

    def require_db(self) -> None:
        raise NotImplementedError

    def _read(self) -> Session:
        raise NotImplementedError
