"""A document filter: the ``doc_filter`` contract is ``DocFilter(**options).filter(doc)``."""

from lmforge.core.contracts import DocFilter


class MinWords(DocFilter):
    """Keep documents with at least ``minimum`` words."""

    def __init__(self, minimum: int = 3) -> None:
        self.minimum = minimum

    def filter(self, doc) -> bool | tuple[bool, str]:
        if len(doc.text.split()) >= self.minimum:
            return True
        return False, f"fewer than {self.minimum} words"
