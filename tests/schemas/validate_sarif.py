#!/usr/bin/env python3
"""Validates SARIF logs against a SARIF 2.1.0 JSON schema file, formats included.

The schema is the official one as npm's @microsoft/jest-sarif ships it
(lib/schemas/sarif-2.1.0-rtm.5.json); the validator is python's jsonschema (which
cyclonedx-python-lib[json-validation] installs, with the format checkers).

Usage: validate_sarif.py SCHEMA FILE...   Exit 0: valid; 1: invalid; 3: jsonschema is missing.
"""
import json
import sys

INSTALL = "python3 -m pip install --break-system-packages 'cyclonedx-python-lib[json-validation]'"

try:
    from jsonschema import FormatChecker, validators
except ImportError as err:
    print(f"python's jsonschema is missing ({err}); install it with:\n\n    {INSTALL}\n",
          file=sys.stderr)
    sys.exit(3)


def main(schema_path, paths):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    # Every format jsonschema knows, not just the draft's: the schema is draft-04, which predates
    # "uri-reference", yet SARIF uses it for artifact URIs.
    validator = cls(schema, format_checker=FormatChecker())
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
        for error in errors[:50]:
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{path}: at /{where}: {error.message}", file=sys.stderr)
        if errors:
            print(f"{path}: {len(errors)} schema errors ({schema.get('title', schema_path)})",
                  file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
