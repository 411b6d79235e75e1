"""Reading values back from the pages the tests render."""

from __future__ import annotations

import re


def shown_hex(page: str, element_id: str) -> str:
    """The hex value an element shows, as a reader copies it: its text with the tags and the
    spaces between the groups of four (the hex_groups filter) removed."""
    match = re.search(
        rf'id="{re.escape(element_id)}"[^>]*>(.*?)</(?:dd|p|td|span)>\s*(?:</|<dt|$)', page, re.S
    )
    assert match, f"no element #{element_id}"
    return re.sub(r"<[^>]+>|\s", "", match.group(1))
