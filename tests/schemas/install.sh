#!/usr/bin/env bash
# Installs what tests/report_schemas.rs validates with (from the package registries only):
# - PyPI cyclonedx-python-lib[json-validation]: the official CycloneDX 1.6 JSON schema (with the
#   spdx, jsf-0.82 and cryptography-defs schemas it references) and a strict validator; it brings
#   python's jsonschema with its format checkers, used for SARIF too.
# - npm @microsoft/jest-sarif: ships the official SARIF 2.1.0 JSON schema (sarif-2.1.0-rtm.5.json).
# - npm @microsoft/sarif-multitool-linux: Microsoft's SARIF validator, whose GH rules are GitHub
#   code scanning's ingestion rules (the validator GitHub's documentation points to).
# The npm packages go to $ROOTSIFT_SCHEMA_TOOLS, else <crate>/target/schema-tools.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${ROOTSIFT_SCHEMA_TOOLS:-target/schema-tools}"
python3 -m pip install --quiet --break-system-packages 'cyclonedx-python-lib[json-validation]'
mkdir -p "$dest"
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dest" \
    @microsoft/jest-sarif@1.0.0-beta.0 @microsoft/sarif-multitool-linux@5.7.0
# npm may skip the package's own postinstall (chmod u+x).
chmod u+x "$dest/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
