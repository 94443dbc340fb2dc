"""``manage.py fairness_report --data FILE --prediction COL --group COL [--label COL] [--positive VALUE] [--json]``

Group fairness of the decisions in FILE (fairlearn's definitions; see monitoring/explain/fairness.py
and docs/explain.md). ``--group`` may be repeated for intersectional groups. ``--json`` prints
``{"groups": [{"group", "n", "selection_rate", "tpr", "fpr", ...}], "demographic_parity_difference",
"demographic_parity_ratio", "equalized_odds_difference", "four_fifths": {"ratio", "flag", ...}, ...}``;
``tpr``/``fpr``/``equalized_odds_difference`` are null without ``--label``.

``--model-version ID --user NAME --group COL [--label COL] [--batch ID ...] [--limit METRIC=VALUE ...]``
assesses the version's logged production decisions instead of a file, as NAME (role matrix and
scoping of the API): the same service as ``POST /api/v1/explain/model-versions/{id}/fairness``
(``services.fairness_check_production``), so the assessment is stored and audited, failed checks become
findings and feed the version's monitoring alerts. ``--json`` then adds ``assessment`` (its id),
``model_version`` and ``production_batches`` to the same document.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from monitoring.explain.fairness import FairnessInputError, fairness_from_frame

from ._io import read_rows


class Command(BaseCommand):
    help = "Fairness metrics per group for binary decisions in a file, or a model version's logged decisions (stored)."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--data", help="CSV or Parquet with predictions and group columns")
        source.add_argument("--model-version", type=int, help="assess this model version's logged prediction batches")
        parser.add_argument("--user", help="with --model-version: act as this user (role checks and scoping apply)")
        parser.add_argument("--batch", type=int, action="append", help="with --model-version: only this batch (repeat)")
        parser.add_argument(
            "--limit", action="append", metavar="METRIC=VALUE",
            help="with --model-version: a limit checked as a finding (demographic_parity_difference, ...)",
        )  # fmt: skip
        parser.add_argument(
            "--prediction", help="the decision column (binary); default with --model-version: its prediction column"
        )
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
        if options["model_version"] is not None:
            document = self._production(options)
        else:
            document = self._file(options)
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        self._print(document)

    def _production(self, options) -> dict:
        from monitoring.explain import services
        from monitoring.explain.selectors import model_version_list

        if not options["user"]:
            raise CommandError("--model-version needs --user (the assessment is stored and audited as that user)")
        if options["reference"]:
            raise CommandError("--reference applies to --data only")
        actor = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError("no such user (--user)")
        version = model_version_list(user=actor).filter(pk=options["model_version"]).first()
        if version is None:
            raise CommandError("no such model version (--model-version)")
        try:
            assessment = services.fairness_check_production(
                actor=actor,
                model_version=version,
                group=options["group"],
                prediction=options["prediction"],
                label=options["label"],
                positive=options["positive"],
                limits=_limits(options["limit"]),
                batch_ids=options["batch"],
                n_boot=options["bootstrap"],
                seed=options["seed"],
                min_group_size=options["min_group_size"],
            )
        except PermissionDenied as exc:
            raise CommandError(f"{options['user']} may not add fairness assessments") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        return {
            **assessment.report,
            "assessment": assessment.pk,
            "model_version": version.pk,
            "production_batches": assessment.production_batch_ids,
        }

    def _file(self, options) -> dict:
        if options["user"] or options["batch"] or options["limit"]:
            raise CommandError("--user, --batch and --limit apply to --model-version only")
        if not options["prediction"]:
            raise CommandError("--data needs --prediction")
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
        return report.as_dict()

    def _print(self, document: dict) -> None:
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


def _limits(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    limits = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value) if sep and name.strip() else None
        except ValueError:
            number = None
        if number is None or not number >= 0:  # "not >= 0" also refuses nan
            raise CommandError(f"--limit takes METRIC=VALUE with a number >= 0 (got {item!r})")
        limits[name.strip()] = number
    return limits


def _fmt(v):
    return "n/a" if v is None else f"{v:.4f}"
