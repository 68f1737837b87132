"""Category commands. Colors are unique per user, kept by the user's ``Palette``, which
is committed with every category change that takes or frees a color."""

from __future__ import annotations

from uuid import UUID

from command_service.commands import CreateCategory, DeleteCategory, UpdateCategory
from command_service.handlers.guards import accepted, check_owner, live, owned
from command_service.handlers.idempotency import Once
from command_service.results import Created, Written
from command_service.unit_of_work import KeyClaimedError, UnitOfWork
from command_service.views import category_view
from shared.domain.budgets import Budget, budget_id_for
from shared.domain.categories import Category, Palette, palette_id_for
from shared.domain.errors import Model
from shared.domain.ids import uuid7
from shared.views import CategoryView


class CategoryHandlers:
    def create(self, command: CreateCategory, uow: UnitOfWork) -> Created[CategoryView]:
        once = Once(command)
        uow.load([palette_id_for(command.user_id), once.claim_id])
        # Before the color rule: a retry of a create that took a color replays it.
        if (earlier := once.earlier(uow)) is not None:
            return self._replayed(uow, earlier)
        palette = _palette(uow, command.user_id)
        category_id = uuid7()
        palette.assign(command.color, category_id)
        category = Category(
            id=category_id,
            user_id=str(command.user_id),
            name=command.name,
            description=command.description,
            color=command.color.value,
            is_default=False,
        )
        uow.add(palette, category)
        try:
            position = uow.commit(command.user_id, once.claim(category.id))
        except KeyClaimedError as raced:
            return self._replayed(uow, once.resource_of(raced.claim))
        return Created(category_view(category), position)

    def update(self, command: UpdateCategory, uow: UnitOfWork) -> Written[CategoryView]:
        uow.load([command.category_id, palette_id_for(command.user_id)])
        category = live(uow, Category, Model.CATEGORY, command.category_id)
        changes = accepted(command.changes)
        # The caller's palette judges the color (an input rule: 422 before 403); nothing
        # is committed if the ownership check then refuses.
        palette = _palette(uow, command.user_id)
        palette.assign(changes.color, category.id, previous=category.color)
        check_owner(category, command.user_id)
        category.update(
            name=changes.name,
            description=changes.description,
            color=changes.color.value,
            is_default=changes.is_default,
        )
        uow.add(palette, category)
        position = uow.commit(command.user_id)
        return Written(category_view(category), position)

    def delete(self, command: DeleteCategory, uow: UnitOfWork) -> int:
        budget_id = budget_id_for(command.user_id, command.category_id)
        uow.load([command.category_id, palette_id_for(command.user_id), budget_id])
        category = owned(uow, Category, Model.CATEGORY, command.category_id, command.user_id)
        palette = _palette(uow, command.user_id)
        palette.release(category.color)
        category.delete()
        uow.add(palette, category)
        # Deleting a category deletes its budget (the original's FK cascade).
        budget = uow.get(Budget, budget_id)
        if budget is not None and not budget.deleted:
            budget.delete()
            uow.add(budget)
        return uow.commit(command.user_id)

    def _replayed(self, uow: UnitOfWork, category_id: UUID) -> Created[CategoryView]:
        category = live(uow, Category, Model.CATEGORY, category_id)
        return Created(category_view(category), uow.head(), replayed=True)


def _palette(uow: UnitOfWork, user_id: UUID) -> Palette:
    palette_id = palette_id_for(user_id)
    return uow.get(Palette, palette_id) or Palette(id=palette_id, user_id=str(user_id))
