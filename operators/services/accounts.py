"""Accounts: creating a portal user (checked like Django's own forms)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from common.exceptions import InvalidInput
from operators.services.messages import REQUIRED


def account_create(*, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create an active portal account with no operator (it enrols, or accepts an invitation).

    Refuses (InvalidInput, field errors) a taken username or e-mail (case-insensitive),
    an invalid e-mail and a password that fails the project's password validators.
    """
    User = get_user_model()
    username = (username or "").strip()
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [REQUIRED]
    elif len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        errors["username"] = ["Identifiant invalide : lettres, chiffres et @ . + - _ uniquement (150 au plus)."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["Cet identifiant est déjà utilisé."]
    try:
        EmailValidator()(email)
    except ValidationError:
        errors["email"] = ["Adresse e-mail invalide."]
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["Un compte existe déjà avec cette adresse e-mail."]
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password or "", user=candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise InvalidInput(errors=errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username, email=email, password=password, first_name=first_name, last_name=last_name
            )
    except IntegrityError:
        raise InvalidInput(errors={"username": ["Cet identifiant est déjà utilisé."]}) from None
