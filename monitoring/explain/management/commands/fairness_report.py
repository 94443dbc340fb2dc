"""``manage.py fairness_report --data FILE --prediction COL --group COL [--label COL] [--positive VALUE] [--json]``

Group fairness of the decisions in FILE (fairlearn's definitions; see monitoring/explain/fairness.py
and docs/explain.md). ``--group`` may be repeated for intersectional groups. ``--json`` prints
``{"groups": [{"group", "n", "selection_rate", "tpr", "fpr", ...}], "demographic_parity_difference",
"demographic_parity_ratio", "equalized_odds_difference", "four_fifths": {"ratio", "flag", ...}, ...}``;
``tpr``/``fpr``/``equalized_odds_difference`` are null without ``--label``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from monitoring.explain.fairness import FairnessInputError, fairness_from_frame

from ._io import read_rows


class Command(BaseCommand):
    help = "Fairness metrics per group for binary decisions in a file."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="CSV or Parquet with predictions and group columns")
        parser.add_argument("--prediction", required=True, help="the decision column (binary)")
        parser.add_argument("--group", required=True, action="append", help="protected attribute column (repeat: intersections)")
        parser.add_argument("--label", help="the true outcome column (binary), for TPR/FPR/equalized odds")
        parser.add_argument("--positive", help="the favourable value (default 1)")
        parser.add_argument("--reference", help="the reference ('privileged') group for the AIF360 block (default: the largest)")
        parser.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for confidence intervals (0: none)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--min-group-size", type=int, default=30)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if options["bootstrap"] < 0 or options["min_group_size"] < 1:
            raise CommandError("--bootstrap must be >= 0 and --min-group-size >= 1")
        frame = read_rows(options["data"], what="--data")
        try:
            report = fairness_from_frame(
                frame,
                prediction=options["prediction"],
                group=options["group"],
                label=options["label"],
                positive=options["positive"],
                reference=options["reference"],
                n_boot=options["bootstrap"],
                seed=options["seed"],
                min_group_size=options["min_group_size"],
            )
        except FairnessInputError as exc:
            raise CommandError(str(exc)) from exc
        document = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        for g in document["groups"]:
            rates = "  ".join(f"{k} {g[k]:.4f}" for k in ("selection_rate", "tpr", "fpr") if g[k] is not None)
            self.stdout.write(f"{g['group']:<30} n={g['n']:<8} {rates}{'  (small group)' if g['small'] else ''}")
        ff = document["four_fifths"]
        self.stdout.write(
            f"demographic parity difference {document['demographic_parity_difference']:.4f}, ratio {_fmt(document['demographic_parity_ratio'])}; "
            f"equalized odds difference {_fmt(document['equalized_odds_difference'])}"
        )
        verdict = "below 0.8 (screening flag)" if ff["flag"] else "not below 0.8"
        test = f"{ff['test']} p={ff['p_value']:.3g}" if ff["test"] else "no test (a group is empty)"
        self.stdout.write(f"four-fifths ratio {_fmt(ff['ratio'])}: {verdict}; {test} ({ff['lowest']} vs {ff['highest']})")


def _fmt(v):
    return "n/a" if v is None else f"{v:.4f}"
