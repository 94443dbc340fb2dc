"""Ledger API, for the auditor and admin roles (``permission_action = "audit"``).

GET /api/v1/audit/events                         events, filterable (audit/filters.py), newest last
GET /api/v1/audit/events/<id>                    one event
GET /api/v1/audit/checkpoint                     latest signed checkpoint (text/plain signed note)
GET /api/v1/audit/proofs/inclusion?seq=&tree_size=       RFC 9162 inclusion proof
GET /api/v1/audit/proofs/consistency?first=&second=      RFC 9162 consistency proof
GET /api/v1/audit/public-key                     checkpoint verifier key (text/plain C2SP vkey)

``tree_size``/``second`` default to the latest checkpoint's size, so a proof can be checked
against the signed root right away. Reads, except that proofs first append what is pending
(``audit.sequencer.drain``: the background drainer may not have run yet), so every event committed
before the request has its place in the tree; the event list shows pending events as they are
(``seq`` null, ``pending=true``).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from audit import selectors
from audit.api import serializers as s
from audit.filters import AuditEventFilterSet
from audit.keys import LedgerKeyMissing, load_signer
from audit.sequencer import drain
from audit.verify_core import b64
from core.api.views import CustosAPIView
from core.api.viewsets import RestrictedReadOnlyModelViewSet

AUDIT = "audit"  # the role-matrix action (accounts.permissions.AUDIT), held by auditors and admins


class AuditEventViewSet(RestrictedReadOnlyModelViewSet):
    permission_action = AUDIT
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilterSet
    ordering_fields = ["id", "occurred_at"]

    def get_queryset(self):
        return selectors.event_list().defer("entry__body")


def _int_param(request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError({name: ["This parameter is required."]})
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: ["Must be an integer."]})


def _default_size() -> int | None:
    latest = selectors.checkpoint_latest()
    return latest.tree_size if latest is not None else None


def _proof_error(exc: selectors.ProofRequestError) -> ValidationError:
    return ValidationError({"non_field_errors": [str(exc)]})


class CheckpointView(CustosAPIView):
    permission_action = AUDIT

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, summary="Latest signed checkpoint (C2SP signed note)")
    def get(self, request):
        latest = selectors.checkpoint_latest()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet")
        return HttpResponse(latest.note, content_type="text/plain; charset=utf-8")


class PublicKeyView(CustosAPIView):
    permission_action = AUDIT

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, summary="Checkpoint verifier key (C2SP vkey)")
    def get(self, request):
        try:
            signer = load_signer()
        except LedgerKeyMissing:
            raise NotFound("no ledger signing key is configured")
        return HttpResponse(signer.verifier.vkey + "\n", content_type="text/plain; charset=utf-8")


class InclusionProofView(CustosAPIView):
    permission_action = AUDIT

    @extend_schema(
        parameters=[
            OpenApiParameter("seq", int, required=True),
            OpenApiParameter("tree_size", int, description="default: the latest checkpoint's size"),
        ],
        responses=s.InclusionProofSerializer,
    )
    def get(self, request):
        drain()
        seq = _int_param(request, "seq")
        tree_size = _int_param(request, "tree_size", _default_size())
        try:
            proof = selectors.ledger_inclusion_proof(seq, tree_size)
        except selectors.ProofRequestError as exc:
            raise _proof_error(exc)
        data = {
            "seq": proof.seq,
            "tree_size": proof.tree_size,
            "leaf_hash": b64(proof.leaf_hash),
            "root_hash": b64(proof.root),
            "proof": [b64(h) for h in proof.path],
        }
        return Response(s.InclusionProofSerializer(data).data)


class ConsistencyProofView(CustosAPIView):
    permission_action = AUDIT

    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, description="default: the latest checkpoint's size"),
        ],
        responses=s.ConsistencyProofSerializer,
    )
    def get(self, request):
        drain()
        first = _int_param(request, "first")
        second = _int_param(request, "second", _default_size())
        try:
            proof = selectors.ledger_consistency_proof(first, second)
        except selectors.ProofRequestError as exc:
            raise _proof_error(exc)
        data = {
            "first": proof.first,
            "second": proof.second,
            "first_root": b64(proof.first_root),
            "second_root": b64(proof.second_root),
            "proof": [b64(h) for h in proof.path],
        }
        return Response(s.ConsistencyProofSerializer(data).data)
