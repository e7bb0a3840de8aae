"""Write the Chatwoot ids setup found or created back into the departments file, keeping the
rest of the file (comments, order, formatting) as it was."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import tomlkit
from tomlkit.items import AoT, Table

from bridge.departments import fold_key
from bridge.errors import ConfigError


def write_department_ids(path: Path, ids: Mapping[str, Mapping[str, int]]) -> bool:
    """`ids`: department key → {id field: value}. True when the file changed.

    Only ids are written (never a secret); the file is replaced atomically with its mode kept.
    """
    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    tables = document.get("department")
    if not isinstance(tables, AoT):
        raise ConfigError(f"BRIDGE_DEPARTMENTS_FILE: {path}: no [[department]] tables")
    wanted = {fold_key(key): values for key, values in ids.items()}
    for table in tables:
        if not isinstance(table, Table):
            continue
        values = wanted.get(fold_key(str(table.get("key", ""))))
        for name, value in (values or {}).items():
            if table.get(name) != value:
                table[name] = value
    updated = tomlkit.dumps(document)
    if updated == text:
        return False
    _replace(path, updated)
    return True


def _replace(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
