"""Budget commands on the in-memory unit of work (contract 2.7, 3.4)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    CreateBudget,
    CreateCategory,
    DeleteBudget,
    DeleteCategory,
    Rejected,
    RenameBudget,
)
from command_service.results import Written
from shared.adapters.http import InputInvalidError
from shared.domain.budgets import Budget, budget_id_for
from shared.domain.categories import Category, Color
from shared.domain.errors import (
    CategoryNotFoundError,
    ForbiddenError,
    NotFoundError,
    RuleViolationError,
)
from shared.domain.ids import uuid7
from shared.views import BudgetView
from tests.unit.conftest import CommandSide, Member


def create(
    side: CommandSide, user: Member, category_id: UUID | None = None, name: str | None = None
) -> Written[BudgetView]:
    command = CreateBudget(user.user_id, category_id or user.categories["red"], name)
    return side.run(side.handlers.budgets.create, command)


def rename(side: CommandSide, user: Member, budget_id: str | UUID, name: Any) -> Any:
    command = RenameBudget(user.user_id, UUID(str(budget_id)), name)
    return side.run(side.handlers.budgets.rename, command)


def delete(side: CommandSide, user: Member, budget_id: str | UUID) -> int:
    command = DeleteBudget(user.user_id, UUID(str(budget_id)))
    return side.run(side.handlers.budgets.delete, command)


def test_a_budget_is_named_after_its_category_in_the_users_currency(
    side: CommandSide, user: Member
) -> None:
    written = create(side, user)
    budget = written.resource
    assert (budget.name, budget.currency) == ("Alimentação", "BRL")
    assert budget.category.id == str(user.categories["red"])
    # Its id is derived from (user, category): one budget per category by construction.
    assert budget.id == str(budget_id_for(user.user_id, user.categories["red"]))
    stored = side.stored(Budget, UUID(budget.id))
    assert (stored.user_id, stored.category_id) == (str(user.user_id), budget.category.id)
    assert written.position == side.head()


def test_a_budget_may_be_named_and_may_be_on_the_users_own_category(
    side: CommandSide, user: Member
) -> None:
    assert create(side, user, name="Mercado").resource.name == "Mercado"
    command = CreateCategory(user.user_id, "Pets", None, Color.YELLOW)
    pets = side.run(side.handlers.categories.create, command).resource
    assert create(side, user, UUID(pets.id)).resource.category == pets


def test_creating_it_again_returns_it_unchanged_at_the_head(
    side: CommandSide, user: Member
) -> None:
    first = create(side, user, name="Original")
    with side.nothing_appended():
        again = create(side, user, name="Another name")
    assert again.resource == first.resource
    assert again.position == side.head()


def test_a_global_category_may_have_a_budget_per_user(
    side: CommandSide, user: Member, other: Member
) -> None:
    shared_id = uuid7()
    side.add(Category(shared_id, None, "Split Transactions", None, Color.RED.value, False))
    mine, theirs = create(side, user, shared_id), create(side, other, shared_id)
    assert mine.resource.id != theirs.resource.id


@pytest.mark.parametrize("category", ["unknown", "deleted", "another-users"])
def test_a_category_the_caller_cannot_budget_is_refused(
    side: CommandSide, user: Member, other: Member, category: str
) -> None:
    category_id = {
        "unknown": uuid4(),
        "deleted": user.categories["pink"],
        "another-users": other.categories["red"],
    }[category]
    if category == "deleted":
        side.run(side.handlers.categories.delete, DeleteCategory(user.user_id, category_id))
    expected = CategoryNotFoundError if category == "another-users" else RuleViolationError
    with side.nothing_appended(), pytest.raises(expected) as refused:
        create(side, user, category_id)
    if isinstance(refused.value, RuleViolationError):
        assert refused.value.field == "category_id"
    else:
        assert str(refused.value) == "Category not found."


def test_rename(side: CommandSide, user: Member) -> None:
    budget = create(side, user).resource
    renamed = rename(side, user, budget.id, "Comida")
    assert renamed.resource == BudgetView(budget.id, "Comida", "BRL", budget.category)
    assert renamed.position == side.head()


def test_rename_checks_404_then_422_then_403(
    side: CommandSide, user: Member, other: Member
) -> None:
    theirs = create(side, other).resource
    rejected = Rejected(InputInvalidError({"name": ["The name field is required."]}))
    with side.nothing_appended():
        with pytest.raises(NotFoundError) as missing:
            rename(side, user, uuid4(), rejected)
        assert "[App\\Models\\Budget]" in str(missing.value)
        with pytest.raises(InputInvalidError):
            rename(side, user, theirs.id, rejected)
        with pytest.raises(ForbiddenError):
            rename(side, user, theirs.id, "Mine now")


@pytest.mark.parametrize("how", ["deleted", "its-category-deleted"])
def test_a_deleted_budget_is_gone(side: CommandSide, user: Member, how: str) -> None:
    budget = create(side, user).resource
    if how == "deleted":
        delete(side, user, budget.id)
    else:
        deleted = DeleteCategory(user.user_id, user.categories["red"])
        side.run(side.handlers.categories.delete, deleted)
    assert side.stored(Budget, UUID(budget.id)).deleted
    with side.nothing_appended():
        with pytest.raises(NotFoundError):
            delete(side, user, budget.id)
        with pytest.raises(NotFoundError):
            rename(side, user, budget.id, "x")


def test_delete_another_users_budget_is_403(side: CommandSide, user: Member, other: Member) -> None:
    theirs = create(side, other).resource
    with side.nothing_appended(), pytest.raises(ForbiddenError):
        delete(side, user, theirs.id)


def test_a_deleted_budget_is_reopened_with_fresh_defaults(side: CommandSide, user: Member) -> None:
    old = create(side, user, name="Old").resource
    delete(side, user, old.id)
    before = side.head()
    again = create(side, user).resource
    assert (again.id, again.name) == (old.id, "Alimentação")
    [event] = side.events_after(before)
    assert isinstance(event, Budget.Reopened)
    assert rename(side, user, old.id, "New").resource.name == "New"


def test_racing_creates_for_one_category_make_one_budget(side: CommandSide, user: Member) -> None:
    command = CreateBudget(user.user_id, user.categories["teal"])
    stale = side.memory.units.start()
    stale.load([budget_id_for(user.user_id, user.categories["teal"])])  # not there yet ...
    first = side.run(side.handlers.budgets.create, command)
    with side.nothing_appended():  # ... so its commit conflicts, and it answers the winner
        late = side.handlers.budgets.create(command, stale)
    assert late.resource == first.resource
    assert [type(e) for e in side.events_after(0)].count(Budget.Created) == 1
