"""Sortition domain: the pure selection engine (no I/O apart from the CSV readers in io_formats).

Public API (see api.py): build_instance, select, make_lottery, final_draw, verify_transcript,
eligible_instance, replace_members, draw_replacement, replacement_exclusions, verify_replacement,
verify_replacements, fresh_randomness, commitment, Contribution, SortitionInputError, VerificationError.
"""

from .api import (  # noqa: F401
    Contribution,
    Instance,
    Lottery,
    Person,
    Quota,
    Replacement,
    SelectionResult,
    SortitionInputError,
    build_instance,
    commitment,
    draw_replacement,
    eligible_instance,
    final_draw,
    fresh_randomness,
    make_lottery,
    replace_members,
    replacement_exclusions,
    select,
    verify_replacement,
    verify_replacements,
    verify_transcript,
)
from .draw import VerificationError  # noqa: F401
from .engine import ALGORITHMS, ENGINE_VERSION  # noqa: F401
