"""Bodies of the user commands (contract 3.8), with the original's rules: a lowercase
e-mail address, a password of at least 8 characters confirmed by
``password_confirmation``, a preferred currency from the enum. Passwords are taken as
sent (not trimmed, as the original's ``TrimStrings`` exceptions)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    StrictFloat,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from command_service.commands import (
    ChangePassword,
    DeleteUser,
    LogIn,
    RegisterUser,
    SetAutoCategorization,
    UpdateProfile,
)
from command_service.schemas import Body, Name, Payload, parse
from shared.categorize import MIN_THRESHOLD
from shared.domain.money import Currency

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
MIN_PASSWORD = 8


def _email(value: str) -> str:
    if value != value.lower():
        raise PydanticCustomError("lowercase", "The {attr} field must be lowercase.")
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("email", "The {attr} field must be a valid email address.")
    return value


def _password(value: str) -> str:
    if len(value) < MIN_PASSWORD:
        raise PydanticCustomError(
            "password", f"The {{attr}} field must be at least {MIN_PASSWORD} characters."
        )
    return value


Email = Annotated[Name, AfterValidator(_email)]
NewPassword = Annotated[StrictStr, StringConstraints(max_length=255), AfterValidator(_password)]
Password = Annotated[StrictStr, StringConstraints(max_length=255)]


def _confirmed(value: str, info: ValidationInfo) -> str:
    # On ``password``, as Laravel's ``confirmed``: its confirmation is declared first so
    # that it is parsed by then (the 422 body lists it first; clients read keys).
    confirmation = info.data.get("password_confirmation")
    if confirmation is not None and confirmation != value:
        raise PydanticCustomError("confirmed", "The {attr} field confirmation does not match.")
    return value


class RegisterBody(Body):
    name: Name
    email: Email
    password_confirmation: Password
    password: NewPassword
    preferred_currency: Currency

    _confirm = field_validator("password")(_confirmed)


class LoginBody(Body):
    email: Name
    password: Password


class ProfileBody(Body):
    name: Name
    email: Email
    preferred_currency: Currency | None = None


class PasswordBody(Body):
    current_password: Password
    password_confirmation: Password
    password: NewPassword

    _confirm = field_validator("password")(_confirmed)


class DeleteBody(Body):
    password: Password


def _threshold(value: float | None) -> float | None:
    if value is not None and not MIN_THRESHOLD <= value <= 1:
        raise PydanticCustomError(
            "between", f"The {{attr}} field must be between {MIN_THRESHOLD} and 1."
        )
    return value


class CategorizationBody(Body):
    # Required, and null turns auto-apply off: an absent key is a 422, never "off".
    auto_apply_threshold: Annotated[StrictFloat | None, AfterValidator(_threshold)]  # an int too


def register(payload: Payload, now: datetime) -> RegisterUser:
    body = parse(RegisterBody, payload)
    return RegisterUser(body.name, body.email, body.password, body.preferred_currency, now)


def log_in(payload: Payload, now: datetime) -> LogIn:
    body = parse(LoginBody, payload)
    return LogIn(body.email, body.password, now)


def update_profile(user_id: UUID, payload: Payload) -> UpdateProfile:
    body = parse(ProfileBody, payload)
    return UpdateProfile(user_id, body.name, body.email, body.preferred_currency)


def change_password(user_id: UUID, payload: Payload) -> ChangePassword:
    body = parse(PasswordBody, payload)
    return ChangePassword(user_id, body.current_password, body.password)


def delete_user(user_id: UUID, payload: Payload) -> DeleteUser:
    return DeleteUser(user_id, parse(DeleteBody, payload).password)


def set_auto_categorization(user_id: UUID, payload: Payload) -> SetAutoCategorization:
    body = parse(CategorizationBody, payload)
    return SetAutoCategorization(user_id, body.auto_apply_threshold)
