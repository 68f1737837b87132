"""Categories, and the per-user palette that keeps their colors unique."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.errors import RuleViolationError
from shared.domain.ids import derived_id


class Color(StrEnum):
    LAVENDER = "lavender"
    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    ROSEWATER = "rosewater"
    FLAMINGO = "flamingo"
    PINK = "pink"
    MAUVE = "mauve"
    MAROON = "maroon"
    PEACH = "peach"
    TEAL = "teal"
    SKY = "sky"
    SAPPHIRE = "sapphire"


COLOR_TAKEN_MESSAGE = "Você já possui uma categoria com esta cor."

# (name, description, color), in the original's order (app/Support/DefaultCategories.php).
DEFAULT_CATEGORIES: tuple[tuple[str, str, Color], ...] = (
    ("Alimentação", "Restaurantes, supermercados e delivery.", Color.RED),
    ("Transporte", "Combustível, transporte público e manutenção.", Color.BLUE),
    ("Compras", "Vestuário, eletrônicos e outras compras.", Color.MAUVE),
    ("Lazer", "Cinema, jogos e atividades de lazer.", Color.PINK),
    ("Contas & Utilidades", "Energia, água, internet e telefone.", Color.PEACH),
    ("Saúde", "Consultas médicas, farmácia e plano de saúde.", Color.GREEN),
    ("Educação", "Cursos, livros e materiais de estudo.", Color.SAPPHIRE),
    ("Viagens", "Passagens, hospedagens e passeios.", Color.TEAL),
    ("Receitas", "Salários, freelas e outras entradas.", Color.SKY),
    ("Poupança", "Reservas, investimentos e objetivos.", Color.LAVENDER),
)


class Category(Aggregate):
    """A user's category (``user_id`` set) or a global, read-only one (``user_id`` None)."""

    class Created(Aggregate.Created):
        class_version = 1
        user_id: str | None
        name: str
        description: str | None
        color: str
        is_default: bool

    class Updated(Aggregate.Event):
        class_version = 1
        user_id: str | None
        name: str
        description: str | None
        color: str
        is_default: bool

    class Deleted(Aggregate.Event):
        class_version = 1
        user_id: str | None

    @event(Created)
    def __init__(
        self,
        id: UUID,
        user_id: str | None,
        name: str,
        description: str | None,
        color: str,
        is_default: bool,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.description = description
        self.color = Color(color)
        self.is_default = is_default
        self.deleted = False

    def update(self, name: str, description: str | None, color: str, is_default: bool) -> None:
        self._update(
            user_id=self.user_id,
            name=name,
            description=description,
            color=color,
            is_default=is_default,
        )

    @event(Updated)
    def _update(
        self,
        user_id: str | None,
        name: str,
        description: str | None,
        color: str,
        is_default: bool,
    ) -> None:
        del user_id  # every event names its owner, for the live stream
        self.name = name
        self.description = description
        self.color = Color(color)
        self.is_default = is_default

    def delete(self) -> None:
        self._delete(user_id=self.user_id)

    @event(Deleted)
    def _delete(self, user_id: str | None) -> None:
        del user_id
        self.deleted = True


def palette_id_for(user_id: UUID | str) -> UUID:
    return derived_id("palette", user_id)


class Palette(Aggregate):
    """The colors a user's categories use. Invariant: one category per color per user.

    Saved in the same transaction as the category it changes, so two concurrent
    commands taking one color conflict on this stream and one of them is refused.
    """

    class Started(Aggregate.Created):
        class_version = 1
        user_id: str

    class ColorTaken(Aggregate.Event):
        class_version = 1
        color: str
        category_id: str

    class ColorFreed(Aggregate.Event):
        class_version = 1
        color: str

    @event(Started)
    def __init__(self, id: UUID, user_id: str) -> None:
        self.user_id = user_id
        self.colors: dict[str, str] = {}

    def assign(self, color: Color, category_id: UUID, previous: Color | None = None) -> None:
        holder = self.colors.get(color)
        if holder is not None and holder != str(category_id):
            raise RuleViolationError("color", COLOR_TAKEN_MESSAGE)
        if previous is not None and previous != color:
            self._free(color=previous.value)
        if holder is None:
            self._take(color=color.value, category_id=str(category_id))

    def release(self, color: Color) -> None:
        if color in self.colors:
            self._free(color=color.value)

    @event(ColorTaken)
    def _take(self, color: str, category_id: str) -> None:
        self.colors[color] = category_id

    @event(ColorFreed)
    def _free(self, color: str) -> None:
        self.colors.pop(color, None)
