"""Category commands. Colors are unique per user, kept by the user's ``Palette``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from command_service.commands import CreateCategory, UpdateCategory
from command_service.idempotency import Created, create_once
from command_service.store import Store, view_of_category
from shared.domain.budgets import Budget, budget_id_for
from shared.domain.categories import Category, Palette, palette_id_for
from shared.domain.errors import Model
from shared.views import CategoryView


class CategoryCommands:
    def __init__(self, store: Store) -> None:
        self.store = store

    def palette(self, user_id: UUID) -> Palette:
        palette = self.store.find(Palette, palette_id_for(user_id))
        return palette or Palette(id=palette_id_for(user_id), user_id=str(user_id))

    def create(
        self, user_id: UUID, command: CreateCategory, key: str | None, payload: dict[str, Any]
    ) -> Created[CategoryView]:
        def build(category_id: UUID) -> tuple[list[Aggregate], CategoryView]:
            palette = self.palette(user_id)
            palette.assign(command.color, category_id)
            # New categories are never defaults, whatever the body says (as the original).
            category = Category(
                id=category_id,
                user_id=str(user_id),
                name=command.name,
                description=command.description,
                color=command.color.value,
                is_default=False,
            )
            return [palette, category], view_of_category(category)

        def reload(category_id: UUID) -> CategoryView:
            return view_of_category(self.store.live(Category, Model.CATEGORY, category_id))

        return create_once(
            self.store,
            user_id=user_id,
            route="categories",
            key=key,
            payload=payload,
            build=build,
            reload=reload,
        )

    def update(
        self, user_id: UUID, category_id: UUID, parse: Callable[[], UpdateCategory]
    ) -> tuple[CategoryView, int]:
        self.store.live(Category, Model.CATEGORY, category_id)
        command = parse()
        palette = self.palette(user_id)
        current = self.store.live(Category, Model.CATEGORY, category_id)
        # The caller's palette judges the color (an input rule: 422 before 403); nothing
        # is saved if the ownership check below then refuses.
        palette.assign(command.color, current.id, previous=current.color)
        category = self.store.owned(Category, Model.CATEGORY, category_id, user_id)
        category.update(
            name=command.name,
            description=command.description,
            color=command.color.value,
            is_default=command.is_default,
        )
        return view_of_category(category), self.store.append(user_id, palette, category)

    def delete(self, user_id: UUID, category_id: UUID) -> int:
        category = self.store.owned(Category, Model.CATEGORY, category_id, user_id)
        palette = self.palette(user_id)
        palette.release(category.color)
        category.delete()
        changed: list[Aggregate] = [palette, category]
        # Deleting a category deletes its budget (the original's FK cascade).
        budget = self.store.find(Budget, budget_id_for(user_id, category_id))
        if budget is not None and not budget.deleted:
            budget.delete()
            changed.append(budget)
        return self.store.append(user_id, *changed)
