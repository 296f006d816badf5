"""SPDX license expressions: the one parser both the recipe (a source's declared `license`) and the
license stage (stages/licenses/) read them with, so a declared license and a found one are
normalized alike. It sits below both: the recipe imports nothing from stages/.
"""

from __future__ import annotations

import re
from functools import lru_cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

# SPDX's own ids for licenses off its list (REUSE declarations use them).
_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")


@lru_cache(maxsize=1)
def licensing() -> Licensing:
    return get_spdx_licensing()


def parse_spdx(expression: str, refs: bool = False) -> tuple[str | None, str | None]:
    """(normalized SPDX expression, None) or (None, why it is not valid). With `refs`, SPDX's own
    `LicenseRef-<idstring>` ids (which REUSE declarations use for licenses off the list) are valid."""
    try:
        info = licensing().validate(expression)
    except ExpressionError as e:
        return None, str(e)
    except AttributeError:  # license-expression 30.4 fails this way on some malformed strings
        return None, "malformed license expression"  # the text is not echoed: it may hold anything
    if refs and info.invalid_symbols and all(_LICENSE_REF.fullmatch(s) for s in info.invalid_symbols) \
            and all(e.startswith("Unknown license key") for e in info.errors):
        return str(licensing().parse(expression, validate=False).render()), None
    if info.errors:
        return None, "; ".join(info.errors)
    return info.normalized_expression, None
