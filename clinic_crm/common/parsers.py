"""The API's request parser: DRF's JSON parser, with every malformed body a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, which answers a syntax error or NaN with a 400 but lets a body nested a
    few thousand levels deep (a few KB of brackets) raise RecursionError, a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
