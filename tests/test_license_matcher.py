"""LicenseDB matcher and pointer fixes, each on a real snippet: stand-alone DEP-5 `License:`
paragraphs of Debian 12 `/usr/share/doc/*/copyright` files (each under the license it states; the
package is named with each), from the shared corpora's licenses/license_notices."""

import pytest

from opencorpus.document import Document
from opencorpus.stages.license import LicenseOptions, LicenseTagger
from opencorpus.stages.licenses.matcher import license_index


@pytest.fixture(scope="module")
def tagger():
    t = LicenseTagger(LicenseOptions(), {})
    t.setup()
    return t


def tag(tagger, text):
    [doc] = tagger.process(Document(id="s/x", text=text, source="s"))
    return doc.metadata


# python3-lazr.restfulclient 0.14.5-1 (license_notices 0159).
LGPL3_NOTICE = (
    'lazr.restfulclient is free software: you can redistribute it and/or modify it\n'
    'under the terms of the GNU Lesser General Public License as published by the\n'
    'Free Software Foundation, version 3 of the License.\n'
    '\n'
    'lazr.restfulclient is distributed in the hope that it will be useful, but\n'
    'WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or\n'
    'FITNESS FOR A PARTICULAR PURPOSE.  See the GNU Lesser General Public License\n'
    'for more details.\n'
    '\n'
    'On Debian systems the complete text of the LGPL, version 3, can be found at\n'
    '/usr/share/common-licenses/LGPL-3.'
)

# gir1.2-glib-2.0 1.74.0-3 (license_notices 0194): the 2022 Unicode text, without its last paragraph.
UNICODE = (
    'See Terms of Use <https://www.unicode.org/copyright.html>\n'
    'for definitions of Unicode Inc.’s Data Files and Software.\n'
    '\n'
    'NOTICE TO USER: Carefully read the following legal agreement.\n'
    "BY DOWNLOADING, INSTALLING, COPYING OR OTHERWISE USING UNICODE INC.'S\n"
    'DATA FILES ("DATA FILES"), AND/OR SOFTWARE ("SOFTWARE"),\n'
    'YOU UNEQUIVOCALLY ACCEPT, AND AGREE TO BE BOUND BY, ALL OF THE\n'
    'TERMS AND CONDITIONS OF THIS AGREEMENT.\n'
    'IF YOU DO NOT AGREE, DO NOT DOWNLOAD, INSTALL, COPY, DISTRIBUTE OR USE\n'
    'THE DATA FILES OR SOFTWARE.\n'
    '\n'
    'COPYRIGHT AND PERMISSION NOTICE\n'
    '\n'
    'Copyright © 1991-2022 Unicode, Inc. All rights reserved.\n'
    'Distributed under the Terms of Use in https://www.unicode.org/copyright.html.\n'
    '\n'
    'Permission is hereby granted, free of charge, to any person obtaining\n'
    'a copy of the Unicode data files and any associated documentation\n'
    '(the "Data Files") or Unicode software and any associated documentation\n'
    '(the "Software") to deal in the Data Files or Software\n'
    'without restriction, including without limitation the rights to use,\n'
    'copy, modify, merge, publish, distribute, and/or sell copies of\n'
    'the Data Files or Software, and to permit persons to whom the Data Files\n'
    'or Software are furnished to do so, provided that either\n'
    '(a) this copyright and permission notice appear with all copies\n'
    'of the Data Files or Software, or\n'
    '(b) this copyright and permission notice appear in associated\n'
    'Documentation.\n'
    '\n'
    'THE DATA FILES AND SOFTWARE ARE PROVIDED "AS IS", WITHOUT WARRANTY OF\n'
    'ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE\n'
    'WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND\n'
    'NONINFRINGEMENT OF THIRD PARTY RIGHTS.'
)

# nss-plugin-pem 1.0.8+1-1 (license_notices 0036).
BSD_POINTER = (
    'On Debian systems, the complete text of the BSD License\n'
    'can be found in "/usr/share/common-licenses/GPL-2".'
)

# libdebconfclient0 0.270 (license_notices 0023).
BSD2 = (
    'Redistribution and use in source and binary forms, with or without\n'
    'modification, are permitted provided that the following conditions\n'
    'are met:\n'
    '\n'
    '1. Redistributions of source code must retain the above copyright\n'
    '   notice, this list of conditions and the following disclaimer.\n'
    '2. Redistributions in binary form must reproduce the above copyright\n'
    '   notice, this list of conditions and the following disclaimer in the\n'
    '   documentation and/or other materials provided with the distribution.\n'
    '\n'
    "THIS SOFTWARE IS PROVIDED BY THE AUTHORS AND CONTRIBUTORS ``AS IS'' AND\n"
    'ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE\n'
    'IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE\n'
    'ARE DISCLAIMED.  IN NO EVENT SHALL THE AUTHOR OR CONTRIBUTORS BE LIABLE\n'
    'FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL\n'
    'DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS\n'
    'OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)\n'
    'HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT\n'
    'LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY\n'
    'OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF\n'
    'SUCH DAMAGE.'
)

# universal-ctags 5.9.20210829.0-1 (license_notices 0171).
MIT = (
    'The MIT License\n'
    '\n'
    'Permission is hereby granted, free of charge, to any person\n'
    'obtaining a copy of this software and associated\n'
    'documentation files (the "Software"), to deal in the Software\n'
    'without restriction, including without limitation the rights to\n'
    'use, copy, modify, merge, publish, distribute, sublicense,\n'
    'and/or sell copies of the Software, and to permit persons to\n'
    'whom the Software is furnished to do so, subject to the\n'
    'following conditions:\n'
    '\n'
    'The above copyright notice and this permission notice shall\n'
    'be included in all copies or substantial portions of the\n'
    'Software.\n'
    '\n'
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT\n'
    'WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,\n'
    'INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF\n'
    'MERCHANTABILITY, FITNESS FOR A PARTICULAR\n'
    'PURPOSE AND NONINFRINGEMENT. IN NO EVENT\n'
    'SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE\n'
    'LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\n'
    'LIABILITY, WHETHER IN AN ACTION OF CONTRACT,\n'
    'TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN\n'
    'CONNECTION WITH THE SOFTWARE OR THE USE OR\n'
    'OTHER DEALINGS IN THE SOFTWARE.'
)


def test_a_warranty_disclaimer_adds_no_license(tagger):
    # LicenseDB's philippe-de-muyter "license" is the GPL's disclaimer sentence, word for word.
    meta = tag(tagger, LGPL3_NOTICE)
    assert meta["license"] == "LGPL-3.0-only"
    assert not any("philippe" in e.get("reference", "") for e in meta["license_evidence"])
    assert not any(r.name.startswith("philippe-de-muyter") for r in license_index().references)


def test_a_truncated_license_text_still_names_its_license(tagger):
    meta = tag(tagger, UNICODE)
    assert meta["license"] == "Unicode-DFS-2016"
    [ev] = [e for e in meta["license_evidence"] if e["method"] == "license-text"]
    assert ev["reference"].startswith("scancode:unicode-dfs-2016") and ev["where"] == "lines 1-33"


def test_a_truncated_text_does_not_stand_for_a_choice_it_lacks(tagger):
    # LicenseDB has this MIT text followed by the Unlicense as one "MIT OR Unlicense" rule.
    assert tag(tagger, MIT)["license"] == "MIT"


def test_a_pointer_naming_another_license_than_its_path_gives_the_named_one_and_a_conflict(tagger):
    meta = tag(tagger, BSD_POINTER)
    assert meta["license"] == "BSD-3-Clause" and meta["license_conflict"] is True
    named, path = meta["license_evidence"]
    assert named["method"] == "license-reference" and "BSD License" in named["matched"] and "conflict" not in named
    assert path["method"] == "license-path" and path["expression"] == "GPL-2.0-only" and path["conflict"] is True
    same = "On Debian systems, the complete text of the GNU General Public License\ncan be found in " \
           '"/usr/share/common-licenses/GPL-2".'
    meta = tag(tagger, same)
    assert meta["license"] == "GPL-2.0-only" and "license_conflict" not in meta


def test_spdx_listed_reference_wins_over_a_licenseref_one_for_the_same_words(tagger):
    # LicenseDB files this exact BSD-2-Clause text (without "unmodified") as bsd-unmodified_4.RULE.
    meta = tag(tagger, BSD2)
    assert meta["license"] == "BSD-2-Clause"
    [ev] = [e for e in meta["license_evidence"] if e["method"] == "license-text"]
    assert ev["reference"].startswith("scancode:bsd-simplified") and ev["confidence"] >= 0.95
