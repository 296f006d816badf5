"""License detection parts, one job per module (the stage itself is opencorpus.stages.license):
normalize (names -> SPDX), matcher (LicenseDB texts and notices), references (common-licenses
pointers), dep5 (Debian/REUSE copyright files by path), reuse_toml (REUSE.toml by path and precedence),
pymeta (PKG-INFO, dist-info METADATA and RECORD), trees (a text tree's license files as the recipe
records them: path, sha256, parsed facts), discovery (finding and reading them when a run is planned),
html (page markup),
gnu (GNU grants read as a sentence), phrases (the words of notices in 20+ languages: version, "or later",
a choice of licenses), combine (one expression, conflicts), policy (categories and actions)."""
