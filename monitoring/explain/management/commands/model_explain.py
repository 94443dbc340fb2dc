"""``manage.py model_explain --artifact MODEL --data ROWS [--background FILE] [--method tree|permutation|lime] [--json]``

Explains every row of ROWS with the model in MODEL (a ``.skops`` or ``.onnx`` file; pickle and joblib
are refused), cataloging nothing. ``--json`` prints the contract of docs/explain.md:
``{"explainer", "output", "base_value", "rows": [{"prediction", "contributions", "residual"}], ...}``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from monitoring.explain.artifacts import ArtifactRefused, load_file
from monitoring.explain.engine import METHODS, ExplainInputError, explain_frame

from ._io import read_rows


class Command(BaseCommand):
    help = "Explain a model's decisions on rows from a file (TreeSHAP, sampled Shapley or a LIME-style surrogate)."

    def add_arguments(self, parser):
        parser.add_argument("--artifact", required=True, help="the model: a .skops or .onnx file")
        parser.add_argument("--data", required=True, help="rows to explain: CSV or Parquet of feature columns")
        parser.add_argument("--background", help="background rows (interventional TreeSHAP; sampled Shapley and LIME)")
        parser.add_argument("--method", choices=METHODS, help="default: tree for tree ensembles, else permutation")
        parser.add_argument("--sha256", help="refuse the artifact unless its SHA-256 is this")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--permutations", type=int, default=64, help="sampled Shapley: permutations (antithetic pairs)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if options["permutations"] < 1:
            raise CommandError("--permutations must be at least 1")
        try:
            model = load_file(options["artifact"], expected_sha256=options["sha256"])
        except ArtifactRefused as exc:
            raise CommandError(f"artifact refused: {exc}") from exc
        data = read_rows(options["data"], what="--data")
        background = read_rows(options["background"], what="--background") if options["background"] else None
        try:
            result = explain_frame(
                model,
                data,
                method=options["method"],
                background=background,
                seed=options["seed"],
                n_permutations=options["permutations"],
            )
        except ExplainInputError as exc:
            raise CommandError(str(exc)) from exc
        document = result.contract()
        document["artifact_sha256"] = model.sha256
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        self.stdout.write(
            f"{result.explainer} ({result.output}); base value {result.base_value:.6g}; artifact {model.sha256[:12]}"
        )
        for i, row in enumerate(result.rows):
            top = ", ".join(f"{k} {v:+.4g}" for k, v in result.top(i, 5))
            self.stdout.write(f"row {i}: prediction {row.prediction:.6g}  residual {row.residual:.2g}  {top}")
