"""Model formats on disk: hub ids and paths (:mod:`.hub`), checkpoint folders
(:mod:`.checkpoint`), exported folders and files (:mod:`.exported`), tokenizers
(:mod:`.tokenizer`), and the one path → parts discovery (:mod:`.parts`).

Nothing here runs a model or converts one: reading only.
"""

from .parts import LoadedPart, PartRef, find_parts, load_part, load_parts

__all__ = ["LoadedPart", "PartRef", "find_parts", "load_part", "load_parts"]
