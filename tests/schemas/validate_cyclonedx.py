#!/usr/bin/env python3
"""Validates CycloneDX 1.6 JSON documents against the official schema, strictly.

Uses cyclonedx-python-lib's JsonStrictValidator, which ships bom-1.6.schema.json with the
spdx, jsf-0.82 and cryptography-defs schemas it references, and checks formats.

Usage: validate_cyclonedx.py FILE...   Exit 0: valid; 1: invalid; 3: the validator is missing.
"""
import sys

INSTALL = "python3 -m pip install --break-system-packages 'cyclonedx-python-lib[json-validation]'"


def missing(why):
    print(f"the CycloneDX validator is missing ({why}); install it with:\n\n    {INSTALL}\n",
          file=sys.stderr)
    sys.exit(3)


try:
    from cyclonedx.exception import MissingOptionalDependencyException
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as err:
    missing(err)


def where(error):
    path = getattr(getattr(error, "data", None), "absolute_path", None)
    return "/".join(str(p) for p in path) if path is not None else "?"


def main(paths):
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            errors = validator.validate_str(text, all_errors=True)
        except MissingOptionalDependencyException as err:
            missing(err)
        errors = list(errors or [])
        for error in errors[:50]:
            message = getattr(getattr(error, "data", None), "message", None) or str(error)
            print(f"{path}: at /{where(error)}: {message}", file=sys.stderr)
        if errors:
            print(f"{path}: {len(errors)} schema errors (CycloneDX 1.6, strict)", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
