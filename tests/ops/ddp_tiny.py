"""Run by torchrun in tests/ops/test_distributed_training.py: the app's training pipeline on the tiny
community (fake embeddings), in however many processes torchrun starts. Rank 0 writes the outcome."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for rec_app.community

from rec_app.community import DIM, fake_embed, tiny_train_config  # noqa: E402

from townsquare.config import load_settings  # noqa: E402
from townsquare.db.engine import Database  # noqa: E402
from townsquare.rec import distributed  # noqa: E402
from townsquare.rec.pipeline import run_training  # noqa: E402


def main(db_url: str, data_dir: str, out_path: str, epochs: int) -> None:
    settings = load_settings(env={}, data_dir=Path(data_dir), database_url=db_url, secret_key="t")
    settings.ensure_dirs()
    tc = tiny_train_config(epochs=epochs, max_minutes=3.0, patience=epochs, batch_size=16)
    out = run_training(settings, Database(db_url), tc, embed=fake_embed, dim=DIM, progress=False, refit_all=False)
    ctx = distributed.current()
    if ctx is None or ctx.is_main:
        Path(out_path).write_text(json.dumps({"version": out.version, "activated": out.activated,
                                              "fit": out.fit, "valid": out.extra.get("valid_metrics", {})},
                                             default=str))
    distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
