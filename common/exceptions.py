"""One exception family for domain rules.

Each error carries a French message for people and a stable machine `code` for
API clients. It is mapped once to HTTP (common.api) and once to admin/portal
messages, so services never know who called them.
"""


class DomainError(Exception):
    code = "domain_error"
    default_message = "Opération impossible."
    http_status = 400

    def __init__(
        self, message: str | None = None, *, code: str | None = None, errors: dict[str, list[str]] | None = None
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        # Field (or item) -> list of French messages, for forms and API bodies.
        self.errors = errors or {}
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid"
    default_message = "Données invalides."


class NotAllowed(DomainError):
    code = "permission_denied"
    default_message = "Vous n'avez pas le droit d'effectuer cette action."
    http_status = 403


class StateConflict(DomainError):
    """The object is not in a state that allows this action (or a concurrent request won)."""

    code = "conflict"
    default_message = "Cette action n'est pas possible dans l'état actuel du dossier."
    http_status = 409


class GuardFailed(StateConflict):
    """A transition's preconditions are not met; `errors` lists what is missing."""

    code = "guard_failed"
    default_message = "Les conditions ne sont pas remplies."


class FileTooLarge(DomainError):
    code = "file_too_large"
    default_message = "Le fichier est trop volumineux."
    http_status = 413


class UnsupportedFileType(DomainError):
    code = "unsupported_media_type"
    default_message = "Type de fichier refusé : seuls les PDF, PNG et JPEG sont acceptés."
    http_status = 415


class PreconditionFailed(DomainError):
    """`If-Match` names another version than the current one: someone changed the object since it was read."""

    code = "precondition_failed"
    default_message = (
        "La ressource a été modifiée depuis votre lecture (If-Match) : relisez-la puis recommencez si besoin."
    )
    http_status = 412


class IdempotencyKeyReused(DomainError):
    """The same `Idempotency-Key` came with another method, path or body."""

    code = "idempotency_key_reused"
    default_message = (
        "Cette clé d'idempotence a déjà servi pour une autre requête (méthode, chemin ou corps différents) : "
        "utilisez une nouvelle clé."
    )
    http_status = 422


class IdempotencyInProgress(StateConflict):
    """The first request with this `Idempotency-Key` is still running."""

    code = "idempotency_in_progress"
    default_message = "Une requête avec la même clé d'idempotence est en cours : réessayez dans un instant."
