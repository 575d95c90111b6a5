"""Strict inputs of the API, as the schema states them: undeclared fields refused, strings that are
strings, booleans that are booleans. Imports nothing of DRF's views (serializers import it early)."""

from rest_framework import serializers

UNKNOWN_FIELD = "Champ inconnu."
# Django's CSRF token, which a browser session posting a form sends beside the fields (read by the
# CSRF middleware, never by a serializer): not an unknown field.
TRANSPORT_FIELDS = frozenset({"csrfmiddlewaretoken"})


# The body of a request: a field it does not declare is refused (400 naming it) rather than ignored,
# as the schema says (`additionalProperties: false`, common.openapi) — a misspelt optional field
# would otherwise succeed doing nothing. (A comment, not a docstring: the schema would show it as
# the description of every request body.)
class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - TRANSPORT_FIELDS)
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
        return super().to_internal_value(data)


class StrictStringMixin:
    """Refuses what is not a string: DRF's CharField would store the number 1 as "1"."""

    default_error_messages = {"not_a_string": "Une chaîne de caractères est attendue."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    pass


class StrictURLField(StrictStringMixin, serializers.URLField):
    pass


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only: DRF's BooleanField also takes "yes", "on", 1, "0"…"""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
