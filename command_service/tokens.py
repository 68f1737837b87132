"""Token commands: revoking a token (the web app's ``DELETE /tokens/{token}``, and logout)."""

from __future__ import annotations

from uuid import UUID

from command_service.store import Store
from shared.domain.errors import Model, NotFoundError
from shared.domain.users import Token


class TokenCommands:
    def __init__(self, store: Store) -> None:
        self.store = store

    def revoke(self, user_id: UUID, token_id: UUID) -> int:
        """Revoke one of the caller's tokens: the ``Token.Revoked`` event and the inline
        row's ``revoked_at`` in one append. Another user's token, or one already revoked,
        is a 404 (ids leak nothing)."""
        token = self.store.find(Token, token_id)
        if token is None or token.user_id != str(user_id) or token.revoked:
            raise NotFoundError(Model.TOKEN, token_id)
        token.revoke()
        return self.store.append(user_id, token, token_revocations=[token.id])
