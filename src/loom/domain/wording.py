"""Small grammar for messages: "an IngestDataset run", "1 node" / "3 nodes"."""

from __future__ import annotations

import re

# Letters whose spoken name starts with a vowel sound: an F1, an MSE, an RMSLE, an SVM.
_VOWEL_LETTER_NAMES = set("AEFHILMNORSX")
# Vowel-led words said with a consonant sound, and consonant-led ones said with a vowel sound.
_CONSONANT_SOUND = re.compile(r"^(?:uni|use|usu|uti|eu|one\b|once\b|ubiq|ura)", re.I)
_VOWEL_SOUND = re.compile(r"^(?:hour|honest|honou?r|heir)", re.I)


def article(word: str) -> str:
    """'a' or 'an' for `word`, by how it is said (an IngestDataset, a EdaFlow -> an EdaFlow, a
    classification, an RMSE, a user)."""
    text = str(word).strip().lstrip("'\"`([")
    if not text:
        return "a"
    head = re.match(r"[A-Za-z0-9]+", text)
    token = head.group(0) if head else text
    if len(token) > 1 and token.isupper():  # an acronym, said letter by letter (an F1, an MSE)
        return "an" if token[0] in _VOWEL_LETTER_NAMES else "a"
    if token[0].isdigit():
        return "an" if token[0] == "8" or token in ("11", "18") else "a"  # an 8, an 11, an 18
    if _VOWEL_SOUND.match(token):
        return "an"
    if _CONSONANT_SOUND.match(token):
        return "a"
    return "an" if token[0].lower() in "aeiou" else "a"


def with_article(word: str) -> str:
    """`word` after its article: with_article("EdaFlow") -> 'an EdaFlow'."""
    return f"{article(word)} {word}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 node', '2 nodes' (`many`: an irregular plural)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
