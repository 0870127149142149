"""Content negotiation for an API that speaks JSON only."""

from rest_framework.negotiation import BaseContentNegotiation


class JsonOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON only (API.md), whatever Accept says; parsing Accept would only cost time."""

    def select_parser(self, request, parsers):
        return next((p for p in parsers if request.content_type.startswith(p.media_type)), None)

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
