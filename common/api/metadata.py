"""`OPTIONS` answers (settings.REST_FRAMEWORK["DEFAULT_METADATA_CLASS"]).

A leaf module: rest_framework.views reads that setting when it loads, so this module imports no DRF
view (it would find it half-initialised in a process whose first DRF import is the API plumbing)."""

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    """`OPTIONS` answers the view's name, description and media types on every view.

    DRF's default also describes the POST/PUT body by instantiating `get_serializer()`, which many
    of our views do not have (input serializers are chosen per method): the schema documents bodies.
    """

    def determine_actions(self, request, view):
        return {}
