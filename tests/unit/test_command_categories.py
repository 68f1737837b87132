"""Category commands on the in-memory unit of work (contract 2.5, 3.3)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    CategoryChanges,
    CreateBudget,
    CreateCategory,
    DeleteCategory,
    Rejected,
    UpdateCategory,
)
from command_service.results import Created
from shared.adapters.http import InputInvalidError
from shared.domain.budgets import Budget
from shared.domain.categories import COLOR_TAKEN_MESSAGE, Category, Color, Palette, palette_id_for
from shared.domain.errors import (
    ConcurrentChangeError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RuleViolationError,
)
from shared.views import CategoryView
from tests.unit.conftest import CommandSide, Member

DEFAULT_COLORS = [
    Color.RED,
    Color.BLUE,
    Color.MAUVE,
    Color.PINK,
    Color.PEACH,
    Color.GREEN,
    Color.SAPPHIRE,
    Color.TEAL,
    Color.SKY,
    Color.LAVENDER,
]
FREE_COLORS = [Color.YELLOW, Color.ROSEWATER, Color.FLAMINGO, Color.MAROON]


def create(
    side: CommandSide,
    user: Member,
    color: Color = Color.YELLOW,
    name: str = "Pets",
    key: str | None = None,
) -> Created[CategoryView]:
    command = CreateCategory(user.user_id, name, "Ração e veterinário.", color, key)
    return side.run(side.handlers.categories.create, command)


def changes(color: Color = Color.YELLOW, **overrides: Any) -> CategoryChanges:
    fields: dict[str, Any] = {"name": "Pets", "description": None, "is_default": False}
    return CategoryChanges(**{**fields, "color": color, **overrides})


def update(side: CommandSide, user: Member, category_id: UUID | str, new: Any) -> Any:
    command = UpdateCategory(user.user_id, UUID(str(category_id)), new)
    return side.run(side.handlers.categories.update, command)


def delete(side: CommandSide, user: Member, category_id: UUID | str) -> int:
    command = DeleteCategory(user.user_id, UUID(str(category_id)))
    return side.run(side.handlers.categories.delete, command)


def color_taken(refused: pytest.ExceptionInfo[RuleViolationError]) -> bool:
    return (refused.value.field, refused.value.message) == ("color", COLOR_TAKEN_MESSAGE)


def test_a_new_category_is_the_callers_and_never_a_default(side: CommandSide, user: Member) -> None:
    view = create(side, user).resource
    assert (view.name, view.color, view.is_default) == ("Pets", "yellow", False)
    stored = side.stored(Category, UUID(view.id))
    assert (stored.user_id, stored.is_default) == (str(user.user_id), False)


def test_every_free_color_can_be_used_once_and_names_may_repeat(
    side: CommandSide, user: Member
) -> None:
    made = [create(side, user, color, name="Same").resource for color in FREE_COLORS]
    assert [m.color for m in made] == [c.value for c in FREE_COLORS]
    assert len({m.id for m in made}) == len(FREE_COLORS)


@pytest.mark.parametrize("color", DEFAULT_COLORS)
def test_a_default_categorys_color_is_taken(side: CommandSide, user: Member, color: Color) -> None:
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        create(side, user, color)
    assert color_taken(refused)


def test_colors_are_unique_per_user_not_globally(
    side: CommandSide, user: Member, other: Member
) -> None:
    create(side, user)
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        create(side, user, name="Other")
    assert color_taken(refused)
    assert create(side, other).resource.color == "yellow"


def test_update_replaces_the_fields_and_is_default_comes_from_the_command(
    side: CommandSide, user: Member
) -> None:
    made = create(side, user).resource
    view = update(side, user, made.id, changes(Color.ROSEWATER, name="Animais", is_default=True))
    assert view.resource == CategoryView(made.id, "Animais", "rosewater", None, True)
    # A default category is editable; without ``is_default`` it stops being one (a quirk).
    default = update(side, user, user.categories["red"], changes(Color.RED, name="Comida"))
    assert default.resource.is_default is False


def test_keeping_its_own_color_is_fine_and_a_taken_one_is_refused(
    side: CommandSide, user: Member
) -> None:
    made = create(side, user).resource
    assert update(side, user, made.id, changes(name="Renamed")).resource.color == "yellow"
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        update(side, user, made.id, changes(Color.RED))
    assert color_taken(refused)


def test_changing_a_color_frees_the_old_one_and_takes_the_new(
    side: CommandSide, user: Member
) -> None:
    made = create(side, user).resource
    update(side, user, made.id, changes(Color.FLAMINGO))
    assert create(side, user, Color.YELLOW, name="Reuses yellow").resource.color == "yellow"
    with pytest.raises(RuleViolationError):
        create(side, user, Color.FLAMINGO)
    palette = side.stored(Palette, palette_id_for(user.user_id))
    assert palette.colors["flamingo"] == made.id


def test_update_checks_404_then_422_then_403(
    side: CommandSide, user: Member, other: Member
) -> None:
    theirs = other.categories["red"]
    rejected = Rejected(InputInvalidError({"name": ["The name field is required."]}))
    with side.nothing_appended():
        with pytest.raises(NotFoundError) as missing:
            update(side, user, uuid4(), rejected)
        assert "[App\\Models\\Category]" in str(missing.value)
        with pytest.raises(InputInvalidError):
            update(side, user, theirs, rejected)
        # The caller's own palette judges the color: blue is the caller's already (422).
        with pytest.raises(RuleViolationError) as refused:
            update(side, user, theirs, changes(Color.BLUE))
        assert color_taken(refused)
        with pytest.raises(ForbiddenError):
            update(side, user, theirs, changes(Color.YELLOW))


@pytest.mark.parametrize("which", ["created", "default"])
def test_deleting_a_category_frees_its_color(side: CommandSide, user: Member, which: str) -> None:
    made = create(side, user).resource
    category_id, color = (
        (made.id, Color.YELLOW) if which == "created" else (user.categories["red"], Color.RED)
    )
    delete(side, user, category_id)
    assert side.stored(Category, UUID(str(category_id))).deleted
    assert create(side, user, color, name="Again").resource.id != str(category_id)


def test_a_deleted_category_is_gone(side: CommandSide, user: Member) -> None:
    made = create(side, user).resource
    delete(side, user, made.id)
    with side.nothing_appended():
        with pytest.raises(NotFoundError):
            delete(side, user, made.id)
        with pytest.raises(NotFoundError):
            update(side, user, made.id, changes())


def test_delete_another_users_category_is_403(
    side: CommandSide, user: Member, other: Member
) -> None:
    with side.nothing_appended(), pytest.raises(ForbiddenError):
        delete(side, user, other.categories["red"])


def test_deleting_a_category_deletes_its_budget_in_the_same_commit(
    side: CommandSide, user: Member
) -> None:
    category_id = user.categories["red"]
    command = CreateBudget(user.user_id, category_id)
    budget = side.run(side.handlers.budgets.create, command).resource
    position = delete(side, user, category_id)
    assert side.stored(Budget, UUID(budget.id)).deleted
    assert {type(e).__qualname__ for e in side.events_after(position - 3)} == {
        "Palette.ColorFreed",
        "Category.Deleted",
        "Budget.Deleted",
    }


def test_a_retry_with_the_same_key_replays_instead_of_clashing_on_the_color(
    side: CommandSide, user: Member
) -> None:
    first = create(side, user, key="cat-1")
    with side.nothing_appended():
        retry = create(side, user, key="cat-1")
    assert retry.replayed
    assert retry.resource == first.resource
    with side.nothing_appended(), pytest.raises(IdempotencyKeyReusedError):
        create(side, user, Color.MAROON, key="cat-1")


def test_two_creates_racing_for_one_palette_make_one_category(
    side: CommandSide, user: Member
) -> None:
    stale = side.memory.units.start()
    stale.load([palette_id_for(user.user_id)])  # read before the other create commits
    create(side, user, Color.YELLOW)
    command = CreateCategory(user.user_id, "Late", None, Color.MAROON)
    with side.nothing_appended(), pytest.raises(ConcurrentChangeError):
        side.handlers.categories.create(command, stale)
