"""Notifications: mark one read, or all of them (the original's ``POST /notifications/read``)."""

from __future__ import annotations

from command_service.commands import MarkAllNotificationsRead, MarkNotificationRead
from command_service.unit_of_work import UnitOfWork
from shared.domain.errors import Model, NotFoundError
from shared.domain.notifications import Inbox, Notification, inbox_id_for


class NotificationHandlers:
    def mark_read(self, command: MarkNotificationRead, uow: UnitOfWork) -> tuple[Notification, int]:
        """The notification, read; an already read one writes nothing."""
        uow.load([command.notification_id])
        found = uow.get(Notification, command.notification_id)
        # Another user's notification looks like none.
        if found is None or found.user_id != str(command.user_id):
            raise NotFoundError(Model.NOTIFICATION, command.notification_id)
        if found.read:
            return found, uow.head()
        found.mark_read()
        uow.add(found)
        return found, uow.commit(command.user_id)

    def mark_all_read(self, command: MarkAllNotificationsRead, uow: UnitOfWork) -> int:
        """Every notification before this command is read from now on (the read model
        applies ``Inbox.AllRead`` to the user's notifications at earlier positions)."""
        inbox_id = inbox_id_for(command.user_id)
        uow.load([inbox_id])
        inbox = uow.get(Inbox, inbox_id) or Inbox(id=inbox_id, user_id=str(command.user_id))
        inbox.read_all()
        uow.add(inbox)
        return uow.commit(command.user_id)
