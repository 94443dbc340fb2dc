"""``manage.py model_card --model-version ID --user NAME [--json | --html OUT]``

Prints the model card of a cataloged model version as NAME sees it (the API's scoping:
``selectors.model_version_list``; a version NAME may not see is "no such model version"): a short text
summary by default, the card's JSON document with ``--json`` (docs/explain.md "Model card"), or writes
the HTML page to OUT with ``--html``. Errors are one line and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from monitoring.explain import card as cards
from monitoring.explain.selectors import model_version_list


class Command(BaseCommand):
    help = "Print a model version's model card (Model Card Toolkit fields, EU AI Act Annex IV draft)."

    def add_arguments(self, parser):
        parser.add_argument("--model-version", type=int, required=True, help="the model version's id")
        parser.add_argument("--user", required=True, help="read as this user (the card is scoped as in the API)")
        out = parser.add_mutually_exclusive_group()
        out.add_argument("--json", action="store_true", help="print the card as JSON")
        out.add_argument("--html", metavar="OUT", help="write the card as an HTML page to OUT")

    def handle(self, *args, model_version, user, json=False, html=None, **options):
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError("no such user (--user)")
        version = model_version_list(user=actor).filter(pk=model_version).first()
        if version is None:
            raise CommandError("no such model version (--model-version)")
        doc = cards.model_card(user=actor, model_version=version)
        if json:
            self.stdout.write(cards.to_json(doc))
            return
        if html:
            target = Path(html)
            if not target.parent.is_dir():
                raise CommandError("--html: the directory does not exist")
            target.write_text(cards.to_html(doc), encoding="utf-8")
            self.stdout.write(f"model card written: {target}")
            return
        details = doc["model_details"]
        annex = doc["annex_iv"]
        self.stdout.write(f"{details['name']} {details['version']['name']} ({details['version']['stage']})")
        self.stdout.write(f"missing card fields ({len(doc['missing'])}): {', '.join(doc['missing']) or 'none'}")
        self.stdout.write(f"Annex IV items not fully recorded ({len(annex['missing'])}): {'; '.join(annex['missing'])}")
