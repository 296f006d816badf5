"""License detection parts, one job per module (the stage itself is opencorpus.stages.license):
normalize (names -> SPDX), matcher (LicenseDB texts and notices), references (common-licenses
pointers), dep5 (Debian/REUSE copyright files by path), pymeta (PKG-INFO), html (page markup),
combine (one expression, conflicts), policy (categories and actions)."""
