"""Budget envelope commands on the in-memory unit of work (contract 3.4): allocate (a set),
the cap against the month's income (inherited), moves, and the quirks fixed."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from command_service.commands import (
    AllocateBudget,
    CreateBudget,
    DeleteBudget,
    MoveMoney,
    SetMonthlyIncome,
)
from shared.domain.envelopes import (
    AllocationLimitExceededError,
    BudgetPlan,
    parse_month,
    plan_id_for,
)
from shared.domain.errors import NotFoundError, RuleViolationError
from shared.domain.money import Currency, Money
from tests.unit.conftest import CommandSide, Member

MAY, APRIL = date(2025, 5, 1), date(2025, 4, 1)


def brl(value: int) -> Money:
    return Money(value, Currency.BRL)


def budget(side: CommandSide, user: Member, color: str = "red") -> UUID:
    made = side.run(
        side.handlers.budgets.create, CreateBudget(user.user_id, user.categories[color])
    )
    return UUID(made.resource.id)


def allocate(
    side: CommandSide, user: Member, budget_id: UUID, value: int, month: date = MAY
) -> int:
    command = AllocateBudget(user.user_id, budget_id, month, brl(value))
    return side.run(side.handlers.envelopes.allocate, command).resource.budgeted.value


def income(side: CommandSide, user: Member, value: int, month: date) -> None:
    side.run(side.handlers.envelopes.set_income, SetMonthlyIncome(user.user_id, month, brl(value)))


def plan(side: CommandSide, user: Member) -> BudgetPlan:
    return side.stored(BudgetPlan, plan_id_for(user.user_id))


def test_allocating_twice_sets_the_same_month(side: CommandSide, user: Member) -> None:
    food = budget(side, user)
    assert allocate(side, user, food, 25_000) == 25_000
    assert allocate(side, user, food, 40_000) == 40_000
    assert plan(side, user).allocations == {"2025-05-01": {str(food): 40_000}}


def test_a_currency_mismatch_is_422_and_appends_nothing(side: CommandSide, user: Member) -> None:
    food = budget(side, user)
    command = AllocateBudget(user.user_id, food, MAY, Money(100, Currency.USD))
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        side.run(side.handlers.envelopes.allocate, command)
    assert refused.value.field == "amount.currency"


def test_the_cap_counts_the_other_budgets(side: CommandSide, user: Member) -> None:
    food, transport = budget(side, user), budget(side, user, "blue")
    income(side, user, 50_000, MAY)
    allocate(side, user, transport, 30_000)
    with side.nothing_appended(), pytest.raises(AllocationLimitExceededError) as refused:
        allocate(side, user, food, 25_000)
    assert (refused.value.remaining, refused.value.formatted) == (20_000, "R$200.00")
    assert str(refused.value) == (
        "Você ultrapassou o valor disponível para alocar neste mês (R$200.00 restantes)."
    )
    assert allocate(side, user, food, 20_000) == 20_000


def test_income_is_inherited_by_later_months(side: CommandSide, user: Member) -> None:
    food = budget(side, user)
    income(side, user, 50_000, APRIL)
    with pytest.raises(AllocationLimitExceededError):
        allocate(side, user, food, 55_000)
    assert allocate(side, user, food, 45_000) == 45_000
    # Not by earlier ones: March has no income, so no cap.
    assert allocate(side, user, food, 999_999, date(2025, 3, 1)) == 999_999


def test_a_budgets_own_allocation_is_free_to_change(side: CommandSide, user: Member) -> None:
    food = budget(side, user)
    income(side, user, 50_000, MAY)
    allocate(side, user, food, 50_000)
    assert allocate(side, user, food, 50_000) == 50_000
    assert allocate(side, user, food, -100) == -100  # any sign, as the original


def test_moving_money_between_budgets(side: CommandSide, user: Member) -> None:
    food, transport = budget(side, user), budget(side, user, "blue")
    allocate(side, user, food, 40_000)
    allocate(side, user, transport, 5_000)
    command = MoveMoney(user.user_id, food, transport, MAY, brl(10_000))
    moved = side.run(side.handlers.envelopes.move, command).resource
    assert (moved.source.budgeted.value, moved.target.budgeted.value) == (30_000, 15_000)
    # No cap and no floor: a source may go negative.
    command = MoveMoney(user.user_id, food, transport, MAY, brl(50_000))
    moved = side.run(side.handlers.envelopes.move, command).resource
    assert (moved.source.budgeted.value, moved.target.budgeted.value) == (-20_000, 65_000)


def test_a_move_in_another_currency_is_422(side: CommandSide, user: Member) -> None:
    food, transport = budget(side, user), budget(side, user, "blue")
    command = MoveMoney(user.user_id, food, transport, MAY, Money(100, Currency.USD))
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        side.run(side.handlers.envelopes.move, command)
    assert refused.value.field == "amount.currency"


def test_a_move_with_a_key_is_made_once(side: CommandSide, user: Member) -> None:
    food, transport = budget(side, user), budget(side, user, "blue")
    command = MoveMoney(user.user_id, food, transport, MAY, brl(1_000), "move-1")
    first = side.run(side.handlers.envelopes.move, command)
    again = side.run(side.handlers.envelopes.move, command)
    assert not first.replayed
    assert again.replayed
    assert again.resource == first.resource
    assert plan(side, user).allocated(transport, MAY) == 1_000


def test_another_users_budget_is_404_and_an_unknown_one_422(
    side: CommandSide, user: Member, other: Member
) -> None:
    theirs = budget(side, other)
    with pytest.raises(NotFoundError):
        allocate(side, user, theirs, 100)
    with pytest.raises(RuleViolationError) as refused:
        allocate(side, user, plan_id_for(user.user_id), 100)  # no such budget
    assert refused.value.field == "budget_id"


def test_deleting_a_budget_drops_its_allocations(side: CommandSide, user: Member) -> None:
    food, transport = budget(side, user), budget(side, user, "blue")
    income(side, user, 50_000, MAY)
    allocate(side, user, food, 50_000)
    side.run(side.handlers.budgets.delete, DeleteBudget(user.user_id, food))
    assert plan(side, user).assigned(MAY) == 0
    assert allocate(side, user, transport, 50_000) == 50_000  # the cap is free again
    # Created again (same id), it starts empty.
    assert budget(side, user) == food
    assert plan(side, user).allocated(food, MAY) == 0


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("2025-02", date(2025, 2, 1)),  # on any day: no overflow into March
        ("2024-12", date(2024, 12, 1)),
        ("2025-13", None),
        ("2025-00", None),
        ("2025-5", None),
        ("2025-05-01", None),
        ("0000-01", None),
    ],
)
def test_months_parse_to_their_first_day(raw: str, parsed: date | None) -> None:
    assert parse_month(raw) == parsed
